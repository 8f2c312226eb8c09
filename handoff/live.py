"""Live chats between a resident and an agent: messages, accept, end, transfer, requeue.

Database operations only (sync, one session each); the agent desk and the
chat gateway call them and then tell the browsers. Every agent action checks
team membership first: an agent sees only their own teams' conversations,
and only the agent who holds a live chat may write in it, end or transfer it.
Every resident text is masked (:func:`opastin.privacy.mask_hetu`) before it
is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from handoff import agents, audit, counting, learning, queue
from handoff.errors import AgentBusy, Conflict, Forbidden, NobodyPresent, NotActive, TeamClosed, UnknownTeam
from handoff.models import Agent, Consultation, Conversation, Message, TeamMembership
from opastin.privacy import mask_hetu
from opastin.teams import Team, Teams

RESIDENT = "resident"
AGENT = "agent"
SYSTEM = "system"


@dataclass(frozen=True)
class StoredMessage:
    """A message as :func:`add_message` stored it."""

    id: int
    conversation_id: str
    sender: str
    text: str
    author: str | None
    created_at: datetime


@dataclass(frozen=True)
class HeldChat:
    """A live chat the agent holds (:func:`held_chat`): what writing in it needs."""

    id: str
    team_id: str
    agent_id: int
    author: str
    consulted: bool = True  # the chat may have consultants, whose desks get its messages too


# The relay's statements, built once: building a statement costs more than running it.
_MESSAGES = Message.__table__
_INSERT_MESSAGE = _MESSAGES.insert()
_AGENTS, _CONVERSATIONS, _MEMBERSHIPS = Agent.__table__, Conversation.__table__, TeamMembership.__table__
_CONSULTATIONS = Consultation.__table__
_HELD_CHAT = (
    select(
        _AGENTS.c.active,
        _AGENTS.c.username,
        _AGENTS.c.display_name,
        _CONVERSATIONS.c.status,
        _CONVERSATIONS.c.team_id,
        _CONVERSATIONS.c.agent_id,
        select(_MEMBERSHIPS.c.team_id)
        .where(
            _MEMBERSHIPS.c.agent_id == _AGENTS.c.id,
            _MEMBERSHIPS.c.team_id == _CONVERSATIONS.c.team_id,
        )
        .exists()
        .label("member"),
        select(_CONSULTATIONS.c.id)
        .where(_CONSULTATIONS.c.conversation_id == _CONVERSATIONS.c.id, _CONSULTATIONS.c.ended_at.is_(None))
        .exists()
        .label("consulted"),
    )
    .select_from(_AGENTS.outerjoin(_CONVERSATIONS, _CONVERSATIONS.c.id == bindparam("conversation_id")))
    .where(_AGENTS.c.id == bindparam("agent_id"))
)


def member_teams(agent: Agent) -> set[str]:
    """Ids of the teams ``agent`` belongs to."""
    return {membership.team_id for membership in agent.memberships}


def check_member(agent: Agent, team_id: str) -> None:
    """:class:`Forbidden` unless ``agent`` is an active member of ``team_id``."""
    if not agent.active or team_id not in member_teams(agent):
        raise Forbidden(f"agent {agent.username!r} is not a member of team {team_id!r}")


def conversation_for(session: Session, agent: Agent, conversation_id: str) -> Conversation:
    """A conversation of one of the agent's teams; :class:`Forbidden` for any other.

    An unknown id is refused the same way, so that an agent cannot probe which
    conversation ids exist in other teams.
    """
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None or conversation.team_id not in member_teams(agent) or not agent.active:
        raise Forbidden(f"agent {agent.username!r} may not open conversation {conversation_id!r}")
    return conversation


def held_chat(session: Session, agent_id: int, conversation_id: str) -> HeldChat:
    """The live chat ``conversation_id`` if the agent ``agent_id`` holds it; one prepared query.

    The same checks, in the same order and with the same errors, as loading the
    agent and calling :func:`held_by`: an unknown or inactive account, an
    unknown or another team's conversation and another agent's chat are
    :class:`Forbidden`, a chat that is not live is :class:`NotActive`.
    """
    session.flush()
    row = session.execute(_HELD_CHAT, {"agent_id": agent_id, "conversation_id": conversation_id}).first()
    if row is None or not row.active:
        raise Forbidden("the agent account is not active")
    if row.status is None or not row.member:
        raise Forbidden(f"agent {row.username!r} may not open conversation {conversation_id!r}")
    if row.status != queue.ACTIVE:
        raise NotActive(f"conversation {conversation_id!r} is {row.status}")
    if row.agent_id != agent_id:
        raise Forbidden(f"conversation {conversation_id!r} is held by another agent")
    return HeldChat(conversation_id, row.team_id, agent_id, row.display_name, bool(row.consulted))


def held_by(session: Session, agent: Agent, conversation_id: str) -> Conversation:
    """A live chat held by ``agent``; :class:`Forbidden` or :class:`NotActive` otherwise."""
    conversation = conversation_for(session, agent, conversation_id)
    if conversation.status != queue.ACTIVE:
        raise NotActive(f"conversation {conversation_id!r} is {conversation.status}")
    if conversation.agent_id != agent.id:
        raise Forbidden(f"conversation {conversation_id!r} is held by another agent")
    return conversation


def record_view(session: Session, agent: Agent, conversation: Conversation, now: datetime) -> None:
    """Write an audit entry: ``agent`` opened ``conversation``."""
    audit.record(
        session, agent.username, "conversation.view", conversation.id, now, team=conversation.team_id
    )


def add_message(
    session: Session, conversation_id: str, sender: str, text: str, now: datetime, author: str | None = None
) -> StoredMessage:
    """Store a message of a handed-off conversation, identity codes masked whoever wrote it.

    One prepared INSERT, no ORM unit of work: this is the path of every relayed
    message. Changes pending in the session are flushed first, so that ids keep
    the order in which messages were stored.
    """
    session.flush()
    masked = mask_hetu(text)
    values = {
        "conversation_id": conversation_id,
        "sender": sender,
        "text": masked,
        "author": author,
        "created_at": now,
    }
    message_id = session.execute(_INSERT_MESSAGE, values).inserted_primary_key[0]
    return StoredMessage(message_id, conversation_id, sender, masked, author, now)


def messages_of(session: Session, conversation_id: str) -> list[Message]:
    """The conversation's live messages, oldest first."""
    statement = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return list(session.execute(statement).scalars())


def active_chats(session: Session, agent: Agent) -> list[Conversation]:
    """The live chats ``agent`` holds now, oldest first."""
    statement = (
        select(Conversation)
        .where(Conversation.agent_id == agent.id, Conversation.status == queue.ACTIVE)
        .order_by(Conversation.accepted_at)
    )
    return list(session.execute(statement).scalars())


def _check_capacity(session: Session, agent: Agent, team: Team) -> None:
    held = session.execute(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.agent_id == agent.id,
            Conversation.status == queue.ACTIVE,
            Conversation.team_id == team.id,
        )
    ).scalar_one()
    if held >= team.max_chats_per_agent:
        raise AgentBusy(f"agent {agent.username!r} already has {held} chats in team {team.id!r}")


def accept(
    session: Session, teams: Teams, agent: Agent, team_id: str, conversation_id: str | None, now: datetime
) -> Conversation | None:
    """Accept the next resident of ``team_id`` or the chosen ``conversation_id``; ``None`` if none waits."""
    check_member(agent, team_id)
    team = teams.get(team_id)
    if team is None:
        raise UnknownTeam(f"unknown team {team_id!r}")
    _check_capacity(session, agent, team)
    if conversation_id is None:
        return queue.accept_next(session, team_id, agent, now)
    conversation = conversation_for(session, agent, conversation_id)
    if conversation.team_id != team_id:
        raise Forbidden(f"conversation {conversation_id!r} is not in team {team_id!r}")
    return queue.accept_conversation(session, conversation_id, agent, now)


def end(session: Session, agent: Agent, conversation_id: str, now: datetime) -> Conversation:
    """The agent ends their live chat; the bot takes over again."""
    conversation = held_by(session, agent, conversation_id)
    counting.count_chat(session, conversation, now)
    conversation.status, conversation.ended_at, conversation.transfer_to = "ended", now, None
    audit.record(session, agent.username, "conversation.end", conversation.id, now, team=conversation.team_id)
    return conversation


def propose_transfer(
    session: Session, teams: Teams, agent: Agent, conversation_id: str, team_id: str, now: datetime
) -> Team:
    """The agent proposes moving their live chat to another team; the resident is asked next.

    The target must be another configured team that is open with someone
    present (:class:`TeamClosed`, :class:`NobodyPresent`).
    """
    conversation = held_by(session, agent, conversation_id)
    target = teams.get(team_id)
    if target is None:
        raise UnknownTeam(f"unknown team {team_id!r}")
    if target.id == conversation.team_id:
        raise Conflict(f"conversation {conversation_id!r} is already in team {team_id!r}")
    state = queue.team_state(session, target, now)
    if not state.opening.open:
        raise TeamClosed(f"team {team_id!r} is closed now")
    if state.agents_present == 0:
        raise NobodyPresent(f"nobody is present in team {team_id!r}")
    conversation.transfer_to = target.id
    audit.record(
        session,
        agent.username,
        "conversation.transfer_request",
        conversation.id,
        now,
        team=conversation.team_id,
        to_team=target.id,
    )
    return target


def answer_transfer(
    session: Session, teams: Teams, conversation_id: str, consent: bool, now: datetime
) -> tuple[Conversation, int | None]:
    """The resident answers a proposed transfer; returns the conversation and the agent who held it.

    With consent the chat goes to the head of the new team's queue (its
    messages and transcript follow); without, it stays with the agent.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != queue.ACTIVE or conversation.transfer_to is None:
        raise NotActive(f"conversation {conversation_id!r} has no transfer waiting for an answer")
    previous_agent, from_team, to_team = conversation.agent_id, conversation.team_id, conversation.transfer_to
    if not consent:
        conversation.transfer_to = None
        audit.record(
            session, "resident", "conversation.transfer_declined", conversation.id, now, team=from_team
        )
        return conversation, previous_agent
    target = teams.get(to_team)
    if target is None:
        raise UnknownTeam(f"unknown team {to_team!r}")
    queue.requeue_at_head(session, conversation, target, now)
    counting.count_transfer(session, from_team, to_team, now)
    learning.note_transfer(session, conversation.id, from_team, to_team, now)
    audit.record(
        session, "resident", "conversation.transfer", conversation.id, now, team=from_team, to_team=to_team
    )
    return conversation, previous_agent


def requeue_chats_of(session: Session, teams: Teams, agent_id: int, now: datetime) -> list[Conversation]:
    """The agent's desk stayed away: their live chats go to the head of the queue, and they go away.

    The agent's presence is cleared in every team so that the wait estimate
    and the capacity no longer count them.
    """
    agent = session.get(Agent, agent_id)
    if agent is None:
        return []
    chats = active_chats(session, agent)
    for conversation in chats:
        team = teams.get(conversation.team_id)
        if team is None:
            continue
        queue.requeue_at_head(session, conversation, team, now)
        audit.record(session, "system", "conversation.requeue", conversation.id, now, agent=agent.username)
    agents.clear_presence(session, agent, now)
    return chats


def flag_emergency(session: Session, conversation_id: str, level: str, now: datetime) -> None:
    """Mark the conversation as a possible emergency at ``level`` (the most urgent so far is kept)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return
    order = ("112", "crisis", "116117")
    current = conversation.emergency_level
    if current is None or order.index(level) < order.index(current):
        conversation.emergency_level = level
    audit.record(session, "system", "conversation.emergency", conversation.id, now, level=level)
