"""Consultation between professionals on one conversation (issue: the desk for a whole day, part 6).

The professional holding a live chat invites a colleague who is present in any
team. While invited, the colleague — the consultant — may open that one
conversation (never their team's queue from it) and write in its consultation
thread, which only the holder and the consultants see: never the resident,
never the bot. The consultant leaves, or the holder ends the consultation;
either way the access ends, and it ends by itself when the chat is no longer
live (ended, transferred, closed). Every step is audited; the thread belongs to the
conversation, so it follows a transfer and is purged and erased with it.

A consultant sees the resident's name but never opens the identity code
(:mod:`handoff.identification.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit, live
from handoff.errors import Conflict, Forbidden, InvalidInput, NotFound
from handoff.models import ACTIVE, Agent, Consultation, ConsultationMessage, Conversation, Presence
from opastin.privacy import mask_hetu

MAX_MESSAGE_LENGTH = 2000


@dataclass(frozen=True)
class Colleague:
    """A colleague who may be invited: present now in at least one team."""

    username: str
    display_name: str


@dataclass(frozen=True)
class ThreadMessage:
    """One message of the consultation thread, as the desk shows it."""

    id: int
    author: str
    text: str
    created_at: datetime


def _active(session: Session, conversation_id: str, consultant_id: int) -> Consultation | None:
    found: Consultation | None = session.execute(
        select(Consultation).where(
            Consultation.conversation_id == conversation_id,
            Consultation.consultant_id == consultant_id,
            Consultation.ended_at.is_(None),
        )
    ).scalar_one_or_none()
    return found


def is_consultant(session: Session, agent: Agent, conversation_id: str) -> bool:
    """Whether ``agent`` is consulting on ``conversation_id`` now (the chat still live)."""
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    return (
        agent.active
        and conversation is not None
        and conversation.status == ACTIVE
        and _active(session, conversation_id, agent.id) is not None
    )


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
    already = select(Consultation.consultant_id).where(
        Consultation.conversation_id == conversation_id, Consultation.ended_at.is_(None)
    )
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


def leave(
    session: Session, agent: Agent, conversation_id: str, now: datetime, username: str | None = None
) -> Agent:
    """End a consultation: the consultant leaves, or the holder ends ``username``'s (audited).

    Returns the consultant whose access ended.
    """
    if username is None or username == agent.username:
        consultant = agent
        consultation = _active(session, conversation_id, agent.id)
    else:
        _held(session, agent, conversation_id)
        found: Agent | None = session.execute(
            select(Agent).where(Agent.username == username)
        ).scalar_one_or_none()
        if found is None:
            raise NotFound("no such consultant")
        consultant = found
        consultation = _active(session, conversation_id, found.id)
    if consultation is None:
        raise NotFound("no consultation to end")
    consultation.ended_at = now
    audit.record(
        session, agent.username, "consultation.end", conversation_id, now, consultant=consultant.username
    )
    return consultant


def consultants(session: Session, conversation_id: str) -> list[Colleague]:
    """Who consults on the conversation now."""
    statement = (
        select(Agent.username, Agent.display_name)
        .join(Consultation, Consultation.consultant_id == Agent.id)
        .where(Consultation.conversation_id == conversation_id, Consultation.ended_at.is_(None))
        .order_by(Consultation.id)
    )
    return [Colleague(username, name) for username, name in session.execute(statement).all()]


def audience(session: Session, conversation_id: str) -> list[int]:
    """The agents who see the thread now: the holder of the live chat and its consultants."""
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None:
        return []
    ids = [] if conversation.agent_id is None else [conversation.agent_id]
    current = select(Consultation.consultant_id).where(
        Consultation.conversation_id == conversation_id, Consultation.ended_at.is_(None)
    )
    return ids + [agent_id for agent_id in session.execute(current).scalars() if agent_id not in ids]


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
        .where(
            Consultation.consultant_id == agent.id,
            Consultation.ended_at.is_(None),
            Conversation.status == ACTIVE,
        )
        .order_by(Consultation.started_at)
    )
    return [(conversation_id, team_id) for conversation_id, team_id in session.execute(statement).all()]
