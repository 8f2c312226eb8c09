"""Consultation between professionals on one conversation (issue: the desk for a whole day, part 6).

The professional holding a live chat invites a colleague who is present in any
team. While invited, the colleague — the consultant — may open that one
conversation (never their team's queue from it) and write in its consultation
thread, which only the holder and the consultants see: never the resident,
never the bot. The consultant leaves, or the holder ends the consultation;
either way the access ends, and it ends by itself when the chat is no longer
live (ended, transferred, closed): a consultation belongs to the holding during
which it began, so a chat accepted again (after a transfer or a lost connection)
starts without consultants. Every step is audited; the thread belongs to the
conversation, so it follows a transfer and is purged and erased with it.

The holder may also take a consultant into the resident's chat as a visible
**participant**: the resident is told "<name> liittyy keskusteluun", the
participant writes to the resident beside the holder, and leaves again (the
resident is told that too) while staying a consultant.

A consultant sees the resident's name but never opens the identity code; a
participant, who serves the resident openly, opens it as the holder does
(:mod:`handoff.identification.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from handoff import audit, live
from handoff.errors import Conflict, Forbidden, InvalidInput, NotFound
from handoff.models import ACTIVE, Agent, Consultation, ConsultationMessage, Conversation, Presence
from opastin.privacy import mask_hetu

MAX_MESSAGE_LENGTH = 2000

# A consultation is current while not ended, the chat is live, and it began during this holding.
_CURRENT = and_(
    Consultation.ended_at.is_(None),
    Conversation.status == ACTIVE,
    Consultation.started_at >= Conversation.accepted_at,
)
# Who besides the holder receives the chat's messages at their desk: one statement, built once,
# run for every relayed message of a chat with a consultation.
_WATCHERS = (
    select(Consultation.consultant_id)
    .join(Conversation, Conversation.id == Consultation.conversation_id)
    .where(Consultation.conversation_id == bindparam("conversation_id"), _CURRENT)
    .order_by(Consultation.id)
)


@dataclass(frozen=True)
class Colleague:
    """A colleague who may be invited: present now in at least one team."""

    username: str
    display_name: str
    participant: bool = False


@dataclass(frozen=True)
class ThreadMessage:
    """One message of the consultation thread, as the desk shows it."""

    id: int
    author: str
    text: str
    created_at: datetime


def _current(conversation_id: str) -> Any:
    """The current consultations of a conversation (a statement to narrow further)."""
    return (
        select(Consultation)
        .join(Conversation, Conversation.id == Consultation.conversation_id)
        .where(Consultation.conversation_id == conversation_id, _CURRENT)
    )


def _active(session: Session, conversation_id: str, consultant_id: int) -> Consultation | None:
    found: Consultation | None = session.execute(
        _current(conversation_id).where(Consultation.consultant_id == consultant_id)
    ).scalar_one_or_none()
    return found


def is_consultant(session: Session, agent: Agent, conversation_id: str) -> bool:
    """Whether ``agent`` is consulting on ``conversation_id`` now (the chat still live)."""
    return agent.active and _active(session, conversation_id, agent.id) is not None


def is_participant(session: Session, agent: Agent, conversation_id: str) -> bool:
    """Whether ``agent`` takes part in the resident's chat now as a visible participant."""
    consultation = _active(session, conversation_id, agent.id) if agent.active else None
    return consultation is not None and consultation.visible_since is not None


def watchers(session: Session, conversation_id: str) -> tuple[int, ...]:
    """The consultants of the live chat now, who see its messages at their desks as they come."""
    session.flush()
    rows = session.execute(_WATCHERS, {"conversation_id": conversation_id}).scalars()
    return tuple(rows)


def viewable(session: Session, agent: Agent, conversation_id: str) -> tuple[Conversation, bool]:
    """The conversation for a member of its team, or for its consultant (second value ``True``);
    :class:`Forbidden` for anyone else, unknown ids included."""
    try:
        return live.conversation_for(session, agent, conversation_id), False
    except Forbidden:
        if not is_consultant(session, agent, conversation_id):
            raise
    conversation: Conversation = session.get(Conversation, conversation_id)
    return conversation, True


def _held(session: Session, holder: Agent, conversation_id: str) -> Conversation:
    conversation = live.conversation_for(session, holder, conversation_id)
    if conversation.status != ACTIVE or conversation.agent_id != holder.id:
        raise Forbidden("only the professional holding the chat invites or ends a consultation")
    return conversation


def colleagues(session: Session, holder: Agent, conversation_id: str) -> list[Colleague]:
    """Who the holder may invite: active colleagues present in any team, not the holder, not already in."""
    already = _current(conversation_id).with_only_columns(Consultation.consultant_id)
    present = (
        select(Agent.username, Agent.display_name)
        .join(Presence, Presence.agent_id == Agent.id)
        .where(Agent.active.is_(True), Agent.id != holder.id, Agent.id.not_in(already))
        .distinct()
        .order_by(Agent.display_name)
    )
    return [Colleague(username, name) for username, name in session.execute(present).all()]


def invite(session: Session, holder: Agent, conversation_id: str, username: str, now: datetime) -> Agent:
    """Invite the present colleague ``username`` to consult on the holder's live chat (audited)."""
    conversation = _held(session, holder, conversation_id)
    if username not in {colleague.username for colleague in colleagues(session, holder, conversation_id)}:
        raise Conflict("that colleague is not present, or consults already")
    consultant: Agent = session.execute(select(Agent).where(Agent.username == username)).scalar_one()
    session.add(
        Consultation(
            conversation_id=conversation.id, consultant_id=consultant.id, invited_by=holder.id, started_at=now
        )
    )
    audit.record(
        session, holder.username, "consultation.invite", conversation.id, now, consultant=consultant.username
    )
    return consultant


@dataclass(frozen=True)
class Change:
    """Whose consultation changed, and whether the resident is to be told (joined or left their chat)."""

    consultant: Agent
    joined_chat: bool = False
    left_chat: bool = False


def _chosen(session: Session, agent: Agent, conversation_id: str, username: str | None) -> Consultation:
    """The consultation of the agent themselves, or (for the holder) of the consultant ``username``."""
    if username is None or username == agent.username:
        consultation = _active(session, conversation_id, agent.id)
    else:
        _held(session, agent, conversation_id)
        found: Agent | None = session.execute(
            select(Agent).where(Agent.username == username)
        ).scalar_one_or_none()
        consultation = None if found is None else _active(session, conversation_id, found.id)
    if consultation is None:
        raise NotFound("no such consultation")
    return consultation


def leave(
    session: Session, agent: Agent, conversation_id: str, now: datetime, username: str | None = None
) -> Change:
    """End a consultation: the consultant leaves, or the holder ends ``username``'s (audited).

    A participant of the resident's chat leaves it as well (the resident is to be told).
    """
    consultation = _chosen(session, agent, conversation_id, username)
    consultant: Agent = session.get(Agent, consultation.consultant_id)
    was_visible = consultation.visible_since is not None
    consultation.ended_at, consultation.visible_since = now, None
    audit.record(
        session, agent.username, "consultation.end", conversation_id, now, consultant=consultant.username
    )
    return Change(consultant, left_chat=was_visible)


def join_chat(session: Session, holder: Agent, conversation_id: str, username: str, now: datetime) -> Change:
    """The holder takes the consultant ``username`` into the resident's chat (audited)."""
    _held(session, holder, conversation_id)
    consultation = _chosen(session, holder, conversation_id, username)
    if consultation.visible_since is not None:
        raise Conflict("that colleague takes part in the chat already")
    consultation.visible_since = now
    consultant: Agent = session.get(Agent, consultation.consultant_id)
    audit.record(
        session,
        holder.username,
        "consultation.join_chat",
        conversation_id,
        now,
        consultant=consultant.username,
    )
    return Change(consultant, joined_chat=True)


def leave_chat(
    session: Session, agent: Agent, conversation_id: str, now: datetime, username: str | None = None
) -> Change:
    """The participant leaves the resident's chat, or the holder takes ``username`` out of it (audited).

    They stay a consultant: the thread and the read-only view remain.
    """
    consultation = _chosen(session, agent, conversation_id, username)
    if consultation.visible_since is None:
        raise NotFound("that colleague does not take part in the chat")
    consultation.visible_since = None
    consultant: Agent = session.get(Agent, consultation.consultant_id)
    audit.record(
        session,
        agent.username,
        "consultation.leave_chat",
        conversation_id,
        now,
        consultant=consultant.username,
    )
    return Change(consultant, left_chat=True)


def joined_chat(session: Session, agent_id: int, conversation_id: str) -> live.HeldChat:
    """The live chat a visible participant writes in (as the holder's chat, under the participant's
    name); :class:`Forbidden` for anyone who does not take part in it now."""
    agent: Agent | None = session.get(Agent, agent_id)
    if agent is None or not is_participant(session, agent, conversation_id):
        raise Forbidden("only the holder and the chat's participants write to the resident")
    conversation: Conversation = session.get(Conversation, conversation_id)
    return live.HeldChat(conversation.id, conversation.team_id, conversation.agent_id, agent.display_name)


def consultants(session: Session, conversation_id: str) -> list[Colleague]:
    """Who consults on the conversation now (``participant``: also in the resident's chat)."""
    statement = (
        _current(conversation_id)
        .join(Agent, Agent.id == Consultation.consultant_id)
        .with_only_columns(Agent.username, Agent.display_name, Consultation.visible_since)
        .order_by(Consultation.id)
    )
    return [
        Colleague(username, name, visible is not None)
        for username, name, visible in session.execute(statement).all()
    ]


def audience(session: Session, conversation_id: str) -> list[int]:
    """The agents who see the thread now: the holder of the live chat and its consultants."""
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None:
        return []
    ids = [] if conversation.agent_id is None else [conversation.agent_id]
    return ids + [agent_id for agent_id in watchers(session, conversation_id) if agent_id not in ids]


def write(session: Session, agent: Agent, conversation_id: str, text: str, now: datetime) -> ThreadMessage:
    """A thread message by the holder or a consultant (identity codes masked); audited without the text."""
    conversation = session.get(Conversation, conversation_id)
    holds = conversation is not None and conversation.status == ACTIVE and conversation.agent_id == agent.id
    if not holds and not is_consultant(session, agent, conversation_id):
        raise Forbidden("only the holder and the consultants write in the consultation thread")
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE_LENGTH:
        raise InvalidInput(f"a message is 1–{MAX_MESSAGE_LENGTH} characters")
    message = ConsultationMessage(
        conversation_id=conversation_id,
        agent_id=agent.id,
        author=agent.display_name,
        text=mask_hetu(text),
        created_at=now,
    )
    session.add(message)
    session.flush()
    audit.record(session, agent.username, "consultation.message", conversation_id, now)
    return ThreadMessage(message.id, message.author, message.text, now)


def thread(session: Session, conversation_id: str) -> list[ThreadMessage]:
    """The conversation's consultation thread, oldest first."""
    statement = (
        select(ConsultationMessage)
        .where(ConsultationMessage.conversation_id == conversation_id)
        .order_by(ConsultationMessage.id)
    )
    return [
        ThreadMessage(row.id, row.author, row.text, row.created_at)
        for row in session.execute(statement).scalars()
    ]


def consulting(session: Session, agent: Agent) -> list[tuple[str, str]]:
    """The live conversations ``agent`` consults on now, with their teams (for the side list)."""
    statement = (
        select(Consultation.conversation_id, Conversation.team_id)
        .join(Conversation, Conversation.id == Consultation.conversation_id)
        .where(Consultation.consultant_id == agent.id, _CURRENT)
        .order_by(Consultation.started_at)
    )
    return [(conversation_id, team_id) for conversation_id, team_id in session.execute(statement).all()]
