"""Team status and queues: who is present, who waits, and for how long.

Capacity and acceptance
    ``capacity = agents present × max_chats_per_agent`` (from ``teams.yml``).
    A team is *accepting* new residents when it is open, at least one active
    agent is present, and fewer than ``capacity`` residents are waiting. The
    queue is first in, first out, except that a chat whose agent dropped out
    or that was transferred goes to the head (``QueueEntry.priority``).

Wait estimate
    Every resident who is accepted yields one sample of the *slot time*, the
    time one agent needs per queue position::

        slot = wait × agents_at_join / position_at_join

    where ``wait`` is the time from joining to being accepted, and
    ``agents_at_join``/``position_at_join`` are stored when the resident
    joined. The team's slot time is an exponentially weighted moving average
    (α = 0.3) of its last 20 samples from the past 14 days, oldest first. With
    no samples it is 300 s (5 minutes, the low end of the 5–10 minutes
    reported by Kaiku24). The estimate for position ``p`` is::

        estimated_wait_s = round(slot × p / max(1, agents_present))

    A new resident would be at ``p = queue_length + 1``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff import audit, counting, metrics
from handoff.db import after_commit
from handoff.errors import (
    AlreadyQueued,
    Forbidden,
    NobodyPresent,
    NotQueued,
    QueueFull,
    TeamClosed,
    UnknownConversation,
    UnknownTeam,
)
from handoff.models import ACTIVE as ACTIVE  # the statuses are re-exported for the service's modules
from handoff.models import OPEN_STATUSES as OPEN_STATUSES
from handoff.models import WAITING as WAITING
from handoff.models import Agent, Conversation, Message, Presence, QueueEntry
from opastin import messages
from opastin.hours import OpeningStatus, opening_status
from opastin.privacy import mask_hetu
from opastin.teams import Team, Teams

DEFAULT_SLOT_S = 300.0
EWMA_ALPHA = 0.3
EWMA_SAMPLES = 20
EWMA_MAX_AGE = timedelta(days=14)


@dataclass(frozen=True)
class TeamState:
    """A team's situation at one moment."""

    team: Team
    opening: OpeningStatus
    agents_present: int
    queue_length: int
    active_chats: int
    slot_s: float

    @property
    def capacity(self) -> int:
        """Chats the present agents can hold at once."""
        return self.agents_present * self.team.max_chats_per_agent

    @property
    def accepting(self) -> bool:
        """Open, someone present, and the queue shorter than the capacity."""
        return self.opening.open and self.agents_present > 0 and self.queue_length < self.capacity

    def estimate_for(self, position: int) -> int:
        """Estimated wait in seconds at queue ``position`` (1 = next)."""
        return estimate_wait_s(self.slot_s, position, self.agents_present)

    @property
    def estimated_wait_s(self) -> int | None:
        """Estimate for a resident joining now; ``None`` when closed or nobody is present."""
        if not (self.opening.open and self.agents_present):
            return None
        return self.estimate_for(self.queue_length + 1)


@dataclass(frozen=True)
class QueueStatus:
    """Where one conversation stands."""

    conversation_id: str
    team_id: str
    status: str
    position: int | None
    queue_length: int
    estimated_wait_s: int | None


def estimate_wait_s(slot_s: float, position: int, agents_present: int) -> int:
    """``round(slot_s × position / max(1, agents_present))``."""
    return round(slot_s * position / max(1, agents_present))


def ewma(samples: Sequence[float], alpha: float = EWMA_ALPHA, default: float = DEFAULT_SLOT_S) -> float:
    """Exponentially weighted moving average of ``samples`` (oldest first), or ``default``."""
    if not samples:
        return default
    average = samples[0]
    for sample in samples[1:]:
        average = alpha * sample + (1 - alpha) * average
    return average


def _counts(session: Session, statement: Any) -> dict[str, int]:
    return {team_id: count for team_id, count in session.execute(statement)}


def _presence_counts(session: Session) -> dict[str, int]:
    statement = (
        select(Presence.team_id, func.count())
        .join(Agent, Agent.id == Presence.agent_id)
        .where(Agent.active.is_(True))
        .group_by(Presence.team_id)
    )
    return _counts(session, statement)


def _waiting_counts(session: Session, team_id: str | None = None) -> dict[str, int]:
    statement = select(QueueEntry.team_id, func.count()).where(QueueEntry.left_at.is_(None))
    if team_id is not None:
        statement = statement.where(QueueEntry.team_id == team_id)
    return _counts(session, statement.group_by(QueueEntry.team_id))


def _active_counts(session: Session) -> dict[str, int]:
    statement = (
        select(Conversation.team_id, func.count())
        .where(Conversation.status == ACTIVE)
        .group_by(Conversation.team_id)
    )
    return _counts(session, statement)


@dataclass(frozen=True)
class TeamCounts:
    """Residents waiting, live chats and agents present, per team id (teams with none left out)."""

    waiting: dict[str, int]
    active: dict[str, int]
    present: dict[str, int]


def team_counts(session: Session) -> TeamCounts:
    """The queue lengths, live chats and agents present of every team: three grouped counts."""
    return TeamCounts(_waiting_counts(session), _active_counts(session), _presence_counts(session))


def _wait_ended(session: Session, entry: QueueEntry) -> None:
    """A wait ended (``left_at`` and ``outcome`` set): the statistics now, the metrics at commit."""
    counting.count_wait(session, entry)
    waited_s = (entry.left_at - entry.enqueued_at).total_seconds()
    after_commit(session, partial(metrics.wait_ended, entry.outcome, waited_s))


def _slot_samples(session: Session, now: datetime) -> dict[str, list[float]]:
    """The last :data:`EWMA_SAMPLES` slot-time samples per team, oldest first."""
    ranked = (
        select(
            QueueEntry.team_id,
            QueueEntry.enqueued_at,
            QueueEntry.left_at,
            QueueEntry.position_at_join,
            QueueEntry.agents_at_join,
            func.row_number()
            .over(partition_by=QueueEntry.team_id, order_by=QueueEntry.left_at.desc())
            .label("rank"),
        )
        .where(QueueEntry.outcome == "accepted", QueueEntry.left_at >= now - EWMA_MAX_AGE)
        .subquery()
    )
    rows = session.execute(
        select(ranked).where(ranked.c.rank <= EWMA_SAMPLES).order_by(ranked.c.team_id, ranked.c.rank.desc())
    )
    samples: dict[str, list[float]] = {}
    for row in rows:
        wait = (row.left_at - row.enqueued_at).total_seconds()
        samples.setdefault(row.team_id, []).append(wait * row.agents_at_join / row.position_at_join)
    return samples


def team_states(session: Session, teams: Iterable[Team], now: datetime) -> dict[str, TeamState]:
    """States of ``teams`` at ``now`` with a fixed number of queries."""
    present = _presence_counts(session)
    waiting = _waiting_counts(session)
    active = _active_counts(session)
    samples = _slot_samples(session, now)
    return {
        team.id: TeamState(
            team=team,
            opening=opening_status(team.schedule, now),
            agents_present=present.get(team.id, 0),
            queue_length=waiting.get(team.id, 0),
            active_chats=active.get(team.id, 0),
            slot_s=ewma(samples.get(team.id, [])),
        )
        for team in teams
    }


def team_state(session: Session, team: Team, now: datetime) -> TeamState:
    """State of one team at ``now``."""
    return team_states(session, [team], now)[team.id]


QUEUE_ORDER = (QueueEntry.priority.desc(), QueueEntry.enqueued_at, QueueEntry.id)


def _waiting_entry(session: Session, conversation_id: str, lock: bool = False) -> QueueEntry | None:
    statement = select(QueueEntry).where(
        QueueEntry.conversation_id == conversation_id, QueueEntry.left_at.is_(None)
    )
    entry: QueueEntry | None = session.execute(
        statement.with_for_update() if lock else statement
    ).scalar_one_or_none()
    return entry


def _position(session: Session, entry: QueueEntry) -> int:
    """1-based FIFO position of a waiting entry in its team's queue."""
    ahead: int = session.execute(
        select(func.count())
        .select_from(QueueEntry)
        .where(
            QueueEntry.team_id == entry.team_id,
            QueueEntry.left_at.is_(None),
            or_(
                QueueEntry.priority > entry.priority,
                and_(
                    QueueEntry.priority == entry.priority,
                    or_(
                        QueueEntry.enqueued_at < entry.enqueued_at,
                        and_(QueueEntry.enqueued_at == entry.enqueued_at, QueueEntry.id < entry.id),
                    ),
                ),
            ),
        )
    ).scalar_one()
    return ahead + 1


def _check_accepting(state: TeamState) -> None:
    team = state.team
    if not state.opening.open:
        raise TeamClosed(f"team {team.id!r} is closed now")
    if state.agents_present == 0:
        raise NobodyPresent(f"nobody is present in team {team.id!r}")
    if state.queue_length >= state.capacity:
        raise QueueFull(f"the queue of team {team.id!r} is full ({state.queue_length} waiting)")


def _masked_transcript(transcript: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{**turn, "text": mask_hetu(str(turn.get("text", "")))} for turn in transcript]


def enqueue(
    session: Session,
    team: Team,
    conversation_id: str,
    summary: str,
    transcript: Sequence[Mapping[str, Any]],
    now: datetime,
) -> QueueStatus:
    """Hand a conversation to ``team``'s queue.

    Raises :class:`AlreadyQueued` if the conversation is already waiting or
    with an agent, and :class:`TeamClosed`, :class:`NobodyPresent` or
    :class:`QueueFull` when the team cannot take it. A conversation that
    ended earlier is reused for the new handoff.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None and conversation.status in OPEN_STATUSES:
        raise AlreadyQueued(f"conversation {conversation_id!r} already has a {conversation.status} handoff")
    state = team_state(session, team, now)
    _check_accepting(state)
    if conversation is None:
        conversation = Conversation(id=conversation_id, created_at=now)
        session.add(conversation)
    conversation.team_id = team.id
    conversation.status = WAITING
    conversation.summary = mask_hetu(summary)
    conversation.transcript = _masked_transcript(transcript)
    conversation.accepted_at = conversation.ended_at = conversation.agent_id = None
    conversation.transfer_to = conversation.emergency_level = None
    position = state.queue_length + 1
    session.add(
        QueueEntry(
            team_id=team.id,
            conversation_id=conversation_id,
            enqueued_at=now,
            position_at_join=position,
            agents_at_join=state.agents_present,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise AlreadyQueued(f"conversation {conversation_id!r} already has a queued handoff") from None
    return QueueStatus(conversation_id, team.id, WAITING, position, position, state.estimate_for(position))


def _conversation(session: Session, conversation_id: str) -> Conversation:
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None:
        raise UnknownConversation(f"no handoff for conversation {conversation_id!r}")
    return conversation


def queue_status(session: Session, teams: Teams, conversation_id: str, now: datetime) -> QueueStatus:
    """Status, queue position and estimate of a conversation; :class:`NotFound` if unknown."""
    conversation = _conversation(session, conversation_id)
    team = teams.get(conversation.team_id)
    if team is None:
        raise UnknownTeam(f"conversation {conversation_id!r} belongs to an unknown team")
    state = team_state(session, team, now)
    entry = _waiting_entry(session, conversation_id) if conversation.status == WAITING else None
    if entry is None:
        return QueueStatus(conversation_id, team.id, conversation.status, None, state.queue_length, None)
    position = _position(session, entry)
    return QueueStatus(
        conversation_id, team.id, WAITING, position, state.queue_length, state.estimate_for(position)
    )


def leave_queue(session: Session, conversation_id: str, now: datetime) -> QueueStatus:
    """The resident cancels while waiting; :class:`NotQueued` if not waiting."""
    conversation = _conversation(session, conversation_id)
    entry = _waiting_entry(session, conversation_id, lock=True)
    if conversation.status != WAITING or entry is None:
        raise NotQueued(f"conversation {conversation_id!r} is not waiting (status {conversation.status!r})")
    entry.left_at, entry.outcome = now, "cancelled"
    conversation.status, conversation.ended_at = "cancelled", now
    _wait_ended(session, entry)
    session.flush()
    queue_length = _waiting_counts(session, conversation.team_id).get(conversation.team_id, 0)
    return QueueStatus(conversation_id, conversation.team_id, "cancelled", None, queue_length, None)


def _check_present(session: Session, team_id: str, agent: Agent) -> None:
    present = session.get(Presence, (agent.id, team_id))
    if present is None or not agent.active:
        raise Forbidden(f"agent {agent.username!r} is not present in team {team_id!r}")


def accept_next(session: Session, team_id: str, agent: Agent, now: datetime) -> Conversation | None:
    """Give the first waiting conversation of a team to a present agent; ``None`` if nobody waits."""
    _check_present(session, team_id, agent)
    entry = session.execute(
        select(QueueEntry)
        .where(QueueEntry.team_id == team_id, QueueEntry.left_at.is_(None))
        .order_by(*QUEUE_ORDER)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if entry is None:
        return None
    return _accept_entry(session, entry, agent, now)


def accept_conversation(session: Session, conversation_id: str, agent: Agent, now: datetime) -> Conversation:
    """Give a chosen waiting conversation to an agent present in its team.

    :class:`UnknownConversation` if there is no such handoff, :class:`Forbidden`
    if the agent is not present in its team, :class:`NotQueued` if it is not
    waiting (e.g. a colleague accepted it first).
    """
    conversation = _conversation(session, conversation_id)
    _check_present(session, conversation.team_id, agent)
    entry = session.execute(
        select(QueueEntry)
        .where(QueueEntry.conversation_id == conversation_id, QueueEntry.left_at.is_(None))
        .with_for_update()
    ).scalar_one_or_none()
    if entry is None or conversation.status != WAITING:
        raise NotQueued(f"conversation {conversation_id!r} is not waiting (status {conversation.status!r})")
    return _accept_entry(session, entry, agent, now)


def _accept_entry(session: Session, entry: QueueEntry, agent: Agent, now: datetime) -> Conversation:
    team_id = entry.team_id
    entry.left_at, entry.outcome = now, "accepted"
    conversation: Conversation | None = session.get(Conversation, entry.conversation_id)
    assert conversation is not None
    conversation.status, conversation.accepted_at, conversation.agent_id = ACTIVE, now, agent.id
    _wait_ended(session, entry)
    waited_s = round((now - entry.enqueued_at).total_seconds())
    audit.record(
        session, agent.username, "conversation.accept", conversation.id, now, team=team_id, waited_s=waited_s
    )
    return conversation


def requeue_at_head(session: Session, conversation: Conversation, team: Team, now: datetime) -> None:
    """Put an active or transferred conversation back in ``team``'s queue, ahead of everyone else.

    Used when the agent's browser stays away longer than the grace period and
    when a chat is transferred: the resident has waited already. The team's
    capacity is not checked; the resident is already being served. The agent's
    chat so far is counted for the statistics.
    """
    state = team_state(session, team, now)
    counting.count_chat(session, conversation, now)
    conversation.team_id = team.id
    conversation.status = WAITING
    conversation.agent_id = conversation.accepted_at = conversation.transfer_to = None
    session.add(
        QueueEntry(
            team_id=team.id,
            conversation_id=conversation.id,
            enqueued_at=now,
            position_at_join=1,
            agents_at_join=max(1, state.agents_present),
            priority=1,
        )
    )
    session.flush()


@dataclass(frozen=True)
class WaitingResident:
    """One conversation waiting in a team's queue, with its position and estimate."""

    conversation_id: str
    position: int
    enqueued_at: datetime
    estimated_wait_s: int | None


def waiting_list(session: Session, team: Team, now: datetime) -> list[WaitingResident]:
    """The team's queue in order (position 1 first), each with its estimated wait."""
    state = team_state(session, team, now)
    entries = session.execute(
        select(QueueEntry.conversation_id, QueueEntry.enqueued_at)
        .where(QueueEntry.team_id == team.id, QueueEntry.left_at.is_(None))
        .order_by(*QUEUE_ORDER)
    ).all()
    estimate = state.opening.open and state.agents_present > 0
    return [
        WaitingResident(
            row.conversation_id, index, row.enqueued_at, state.estimate_for(index) if estimate else None
        )
        for index, row in enumerate(entries, start=1)
    ]


def close_queues_of_closed_teams(session: Session, teams: Teams, now: datetime) -> list[str]:
    """Tell residents still waiting in teams that are closed now, and close their entries.

    Each such entry gets outcome ``closed``, its conversation status
    ``closed``, and a Finnish system message offering the contact form.
    Returns the ids of the affected conversations.
    """
    closed_teams = [team.id for team in teams if not opening_status(team.schedule, now).open]
    if not closed_teams:
        return []
    entries = (
        session.execute(
            select(QueueEntry)
            .where(QueueEntry.team_id.in_(closed_teams), QueueEntry.left_at.is_(None))
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for entry in entries:
        entry.left_at, entry.outcome = now, "closed"
        _wait_ended(session, entry)
        conversation = session.get(Conversation, entry.conversation_id)
        assert conversation is not None
        conversation.status, conversation.ended_at = "closed", now
        session.add(
            Message(
                conversation_id=conversation.id,
                sender="system",
                text=messages.text("gateway.queue_closed"),
                created_at=now,
            )
        )
    if entries:
        closed = [entry.conversation_id for entry in entries]
        audit.record(session, "system", "queue.close", None, now, conversations=closed)
    return [entry.conversation_id for entry in entries]
