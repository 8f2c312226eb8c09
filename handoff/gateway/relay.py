"""Transactions of the live chat relay (sync): each stores what happened and returns what to send.

The hub (:mod:`handoff.gateway.hub`) runs them in a worker thread and then
emits the returned messages to the resident's socket and the agent desk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from handoff import consultations, live
from handoff.errors import Forbidden, NotActive
from handoff.gateway import consent, sessions
from handoff.models import Agent, Conversation
from handoff.queue import ACTIVE, WAITING, leave_queue
from opastin import messages
from opastin.teams import Teams


@dataclass(frozen=True)
class Posted:
    """A stored message: ``bot_uttered`` for the resident (``None``: desk only), and the desk copy
    for the holder (the team while queued) and the chat's ``watchers`` (its consultants)."""

    conversation_id: str
    team_id: str
    agent_id: int | None
    uttered: dict[str, Any] | None
    desk: dict[str, Any]
    watchers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What a state change produced: messages to send, and the teams whose queues changed."""

    conversation: Conversation | None
    posted: list[Posted] = field(default_factory=list)
    teams_changed: set[str] = field(default_factory=set)
    previous_agent_id: int | None = None


@dataclass(frozen=True)
class ConsultationOutcome(Outcome):
    """A consultation changed: what the resident is told (if anything), and whose consultation it was."""

    consultant_id: int = 0
    consultant_name: str = ""


class Chat(Protocol):
    """What storing a message needs of its chat: a :class:`Conversation` or a :class:`live.HeldChat`."""

    @property
    def id(self) -> str: ...

    @property
    def team_id(self) -> str: ...

    @property
    def agent_id(self) -> int | None: ...


def desk_message(message: live.StoredMessage) -> dict[str, Any]:
    """A stored message as the desk's ``message`` event sends it."""
    return {
        "conversation_id": message.conversation_id,
        "id": message.id,
        "sender": message.sender,
        "text": message.text,
        "author": message.author,
        "created_at": message.created_at.isoformat(),
    }


def load_agent(session: Session, agent_id: int) -> Agent:
    """The agent with ``agent_id``; :class:`Forbidden` if the account is gone or inactive."""
    agent: Agent | None = session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise Forbidden("the agent account is not active")
    return agent


def post(
    session: Session,
    conversation: Chat,
    sender: str,
    text: str,
    now: datetime,
    *,
    author: str | None = None,
    extra: dict[str, Any] | None = None,
    to_resident: bool = True,
    consulted: bool = True,
) -> Posted:
    """Store an agent or system message of a handed-off conversation, for both sides (or the desk only).

    ``consulted``: the chat may have consultants, whose desks get the message too (``False`` when the
    caller knows it has none: no lookup).
    """
    message = live.add_message(session, conversation.id, sender, text, now, author=author)
    looked_up = consulted and conversation.agent_id is not None
    watchers = consultations.watchers(session, conversation.id) if looked_up else ()
    if not to_resident:
        return Posted(
            conversation.id,
            conversation.team_id,
            conversation.agent_id,
            None,
            desk_message(message),
            watchers,
        )
    custom: dict[str, Any] = {"sender": sender}
    if author:
        custom["sender_name"] = author
    uttered: dict[str, Any] = {"text": text, "custom": custom}
    if extra:
        quick_replies = extra.get("quick_replies")
        if quick_replies:
            uttered["quick_replies"] = quick_replies
        custom.update(extra.get("custom") or {})
    sessions.record_uttered(session, conversation.id, uttered, now)
    return Posted(
        conversation.id, conversation.team_id, conversation.agent_id, uttered, desk_message(message), watchers
    )


def agent_says(session: Session, agent_id: int, conversation_id: str, text: str, now: datetime) -> Posted:
    """The agent writes in their live chat, or in one they take part in as a visible participant
    (the relay's hot path: a few statements, no ORM objects)."""
    try:
        chat = live.held_chat(session, agent_id, conversation_id)
    except Forbidden:
        chat = consultations.joined_chat(session, agent_id, conversation_id)
    return post(session, chat, live.AGENT, text, now, author=chat.author, consulted=chat.consulted)


def _told(
    session: Session, conversation_id: str, change: consultations.Change, now: datetime
) -> ConsultationOutcome:
    """The resident is told when a participant joined or left their chat; nothing else is sent."""
    consultant, name = change.consultant.id, change.consultant.display_name
    if not (change.joined_chat or change.left_chat):
        return ConsultationOutcome(None, consultant_id=consultant, consultant_name=name)
    key = "gateway.participant_joined" if change.joined_chat else "gateway.participant_left"
    conversation: Conversation = session.get(Conversation, conversation_id)
    told = post(session, conversation, live.SYSTEM, messages.text(key, name=name), now)
    return ConsultationOutcome(None, [told], consultant_id=consultant, consultant_name=name)


def join_chat(
    session: Session, holder_id: int, conversation_id: str, username: str, now: datetime
) -> ConsultationOutcome:
    """The holder takes a consultant into the resident's chat; the resident is told who joined."""
    change = consultations.join_chat(session, load_agent(session, holder_id), conversation_id, username, now)
    return _told(session, conversation_id, change, now)


def leave_chat(
    session: Session, agent_id: int, conversation_id: str, username: str | None, now: datetime
) -> ConsultationOutcome:
    """A participant leaves the resident's chat (or the holder takes them out); the resident is told."""
    change = consultations.leave_chat(session, load_agent(session, agent_id), conversation_id, now, username)
    return _told(session, conversation_id, change, now)


def end_consultation(
    session: Session, agent_id: int, conversation_id: str, username: str | None, now: datetime
) -> ConsultationOutcome:
    """A consultation ends (the consultant leaves or the holder ends it); a participant's leaving is
    told to the resident."""
    change = consultations.leave(session, load_agent(session, agent_id), conversation_id, now, username)
    return _told(session, conversation_id, change, now)


def accept(
    session: Session, teams: Teams, agent_id: int, team_id: str, conversation_id: str | None, now: datetime
) -> Outcome:
    """The agent accepts the next (or the chosen) resident; the resident is told who joined."""
    agent = load_agent(session, agent_id)
    conversation = live.accept(session, teams, agent, team_id, conversation_id, now)
    if conversation is None:
        return Outcome(None)
    joined = post(
        session,
        conversation,
        live.SYSTEM,
        messages.text("gateway.agent_joined", name=agent.display_name),
        now,
    )
    return Outcome(conversation, [joined], {team_id})


def end(session: Session, agent_id: int, conversation_id: str, now: datetime) -> Outcome:
    """The agent ends the chat; the resident is told, and the bot takes over."""
    agent = load_agent(session, agent_id)
    conversation = live.end(session, agent, conversation_id, now)
    ended = post(session, conversation, live.SYSTEM, messages.text("gateway.chat_ended"), now)
    return Outcome(conversation, [ended], previous_agent_id=agent.id)


def propose_transfer(
    session: Session, teams: Teams, agent_id: int, conversation_id: str, team_id: str, now: datetime
) -> Outcome:
    """The agent proposes a transfer; the resident gets the question with two quick replies."""
    agent = load_agent(session, agent_id)
    target = live.propose_transfer(session, teams, agent, conversation_id, team_id, now)
    conversation = live.held_by(session, agent, conversation_id)
    question = post(
        session,
        conversation,
        live.SYSTEM,
        messages.text("gateway.transfer_question", team=target.name),
        now,
        extra={"quick_replies": consent.quick_replies()},
    )
    return Outcome(conversation, [question])


def answer_transfer(
    session: Session, teams: Teams, conversation_id: str, consent: bool, now: datetime
) -> Outcome:
    """The resident answered the transfer question; the agent is told first, while still holding the chat."""
    conversation = session.get(Conversation, conversation_id)
    target = teams.get(conversation.transfer_to or "") if conversation is not None else None
    if conversation is None or target is None:
        raise NotActive(f"conversation {conversation_id!r} has no transfer waiting for an answer")
    note = (
        messages.text("desk.transfer_accepted", team=target.name)
        if consent
        else messages.text("desk.transfer_declined")
    )
    to_agent = post(session, conversation, live.SYSTEM, note, now, to_resident=False)
    conversation, previous_agent = live.answer_transfer(session, teams, conversation_id, consent, now)
    if not consent:
        to_resident = post(
            session, conversation, live.SYSTEM, messages.text("gateway.transfer_declined"), now
        )
        return Outcome(conversation, [to_agent, to_resident], previous_agent_id=previous_agent)
    done = post(
        session, conversation, live.SYSTEM, messages.text("gateway.transfer_done", team=target.name), now
    )
    return Outcome(conversation, [to_agent, done], {conversation.team_id}, previous_agent)


def requeue_agent(session: Session, teams: Teams, agent_id: int, now: datetime) -> Outcome:
    """The agent's desk stayed away past the grace period: their chats go back to the head of the queue."""
    chats = live.requeue_chats_of(session, teams, agent_id, now)
    posted = [
        post(session, conversation, live.SYSTEM, messages.text("gateway.agent_lost"), now)
        for conversation in chats
    ]
    return Outcome(None, posted, {conversation.team_id for conversation in chats}, agent_id)


def resident_left(session: Session, conversation_id: str, now: datetime) -> Outcome:
    """The resident started a new conversation: leave the queue, or tell the agent."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status not in (WAITING, ACTIVE):
        return Outcome(None)
    if conversation.status == WAITING:
        leave_queue(session, conversation_id, now)
        return Outcome(conversation, [], {conversation.team_id})
    note = post(
        session, conversation, live.SYSTEM, messages.text("desk.resident_left"), now, to_resident=False
    )
    return Outcome(conversation, [note], previous_agent_id=conversation.agent_id)
