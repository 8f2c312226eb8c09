"""What the desk pages show, read from the database (sync; plain data, no ORM objects leak out).

Every function takes the logged-in :class:`DeskUser` and reads only the
user's own teams; a conversation of another team is :class:`Forbidden`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import consultations, contact, live, notes, queue, uploads
from handoff.desk.auth import DeskUser
from handoff.errors import Forbidden
from handoff.models import Agent, ContactRequest, Conversation, ConversationIdentity, Message, Presence
from opastin import messages
from opastin.hours import HELSINKI
from opastin.teams import Team, Teams

# The desk's own texts (the statistics page, the manager role), read together with data/messages.
DESK_MESSAGES_DIR = Path(__file__).resolve().parent / "messages"


@lru_cache(maxsize=1)
def desk_catalogue() -> messages.Catalogue:
    """The message catalogue in use with the desk's own file of the same language added.

    Raises :class:`~opastin.messages.MessagesError` if both define a key.
    """
    shared = messages.catalogue()
    own = messages.load_catalogue(DESK_MESSAGES_DIR / f"{shared.language}.yml")
    twice = sorted(set(shared.messages) & set(own.messages))
    if twice:
        raise messages.MessagesError(f"{DESK_MESSAGES_DIR}: already in data/messages: {', '.join(twice)}")
    return messages.Catalogue(shared.language, {**shared.messages, **own.messages})


def text(key: str, **values: Any) -> str:
    """The desk's message ``key`` with its placeholders filled."""
    return desk_catalogue().text(key, **values)


def label(group: str, code: str, default: str) -> str:
    """The desk's Finnish name for a status, sender or other code (``desk.<group>.<code>``)."""
    return desk_catalogue().get(f"desk.{group}.{code}", default)


def local_time(moment: datetime | None) -> str:
    """``14.03. klo 12.05`` in Helsinki time, or an empty string."""
    if moment is None:
        return ""
    return moment.astimezone(HELSINKI).strftime("%d.%m. klo %H.%M")


def minutes(seconds: float | None) -> str:
    """``3 min`` (at least 1), or an empty string."""
    if seconds is None:
        return ""
    return f"{max(1, round(seconds / 60))} min"


@dataclass(frozen=True)
class WaitingRow:
    """A resident in a queue, as the desk lists them."""

    conversation_id: str
    position: int
    waited: str
    estimate: str
    summary: str
    emergency: str | None
    # Strong identification: True identified, False not yet in a team that requires it, None no mark.
    identified: bool | None = None


@dataclass(frozen=True)
class TeamPanel:
    """One of the agent's teams: opening, presence, queue, open contact requests."""

    id: str
    name: str
    open: bool
    present: bool
    agents_present: int
    waiting: list[WaitingRow]
    open_requests: int
    longest_wait: str = ""


@dataclass(frozen=True)
class ChatRow:
    """One of the agent's live chats."""

    conversation_id: str
    team_name: str
    since: str
    summary: str
    emergency: str | None
    transfer_to: str | None
    waiting_since: str = ""  # ISO time of the resident's first message not yet answered, or ""
    waited: str = ""  # how long that is, "3 min"
    identified: bool | None = None  # as WaitingRow.identified


@dataclass(frozen=True)
class Overview:
    """The desk's front page."""

    teams: list[TeamPanel]
    chats: list[ChatRow]
    consulting: list[tuple[str, str]] = field(default_factory=list)  # (conversation id, team name)


def _summaries(session: Session, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Conversation.id, Conversation.summary, Conversation.emergency_level).where(
            Conversation.id.in_(ids)
        )
    )
    return {row.id: (row.summary, row.emergency_level) for row in rows}


def _identified(session: Session, ids: list[str]) -> set[str]:
    """Which of the conversations have a strongly identified resident (no names, no codes)."""
    if not ids:
        return set()
    found = select(ConversationIdentity.conversation_id).where(ConversationIdentity.conversation_id.in_(ids))
    return set(session.execute(found).scalars())


def _identified_mark(team: Team, identified: bool) -> bool | None:
    """The queue's mark: "Tunnistettu", or "Ei tunnistettu" when the team requires identification."""
    return True if identified else (False if team.identification == "required" else None)


def _chat_identified_mark(teams: Teams, team_id: str, identified: bool) -> bool | None:
    """:func:`_identified_mark` for a chat whose team may have left the catalogue."""
    team = teams.get(team_id)
    return _identified_mark(team, identified) if team else (True if identified else None)


def _unanswered_since(session: Session, ids: list[str]) -> dict[str, datetime]:
    """For each chat, when the resident's first message after the last agent message was written
    (the chats whose resident has no unanswered message are left out)."""
    if not ids:
        return {}
    last_reply = (
        select(Message.conversation_id, func.max(Message.id).label("last_id"))
        .where(Message.conversation_id.in_(ids), Message.sender == live.AGENT)
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = session.execute(
        select(Message.conversation_id, func.min(Message.created_at))
        .outerjoin(last_reply, last_reply.c.conversation_id == Message.conversation_id)
        .where(
            Message.conversation_id.in_(ids),
            Message.sender == "resident",
            (last_reply.c.last_id.is_(None)) | (Message.id > last_reply.c.last_id),
        )
        .group_by(Message.conversation_id)
    )
    return {conversation_id: since for conversation_id, since in rows}


def overview(session: Session, teams: Teams, user: DeskUser, now: datetime) -> Overview:
    """Queues, presence and contact requests of the user's teams, and the user's live chats."""
    present = set(
        session.execute(select(Presence.team_id).where(Presence.agent_id == user.agent_id)).scalars()
    )
    open_requests = dict(
        session.execute(
            select(ContactRequest.team_id, func.count())
            .where(ContactRequest.status == "open", ContactRequest.team_id.in_(user.teams))
            .group_by(ContactRequest.team_id)
        ).all()
    )
    panels = []
    for team_id in user.teams:
        team = teams.get(team_id)
        if team is None:
            continue
        state = queue.team_state(session, team, now)
        waiting = queue.waiting_list(session, team, now)
        details = _summaries(session, [resident.conversation_id for resident in waiting])
        identified = _identified(session, [resident.conversation_id for resident in waiting])
        rows = [
            WaitingRow(
                resident.conversation_id,
                resident.position,
                minutes((now - resident.enqueued_at).total_seconds()),
                minutes(resident.estimated_wait_s),
                details.get(resident.conversation_id, ("", None))[0],
                details.get(resident.conversation_id, ("", None))[1],
                identified=_identified_mark(team, resident.conversation_id in identified),
            )
            for resident in waiting
        ]
        panels.append(
            TeamPanel(
                team.id,
                team.name,
                state.opening.open,
                team.id in present,
                state.agents_present,
                rows,
                open_requests.get(team.id, 0),
                minutes(max((now - resident.enqueued_at).total_seconds() for resident in waiting))
                if waiting
                else "",
            )
        )
    agent = session.get(Agent, user.agent_id)
    held = live.active_chats(session, agent) if agent else []
    unanswered = _unanswered_since(session, [chat.id for chat in held])
    identified_chats = _identified(session, [chat.id for chat in held])
    chats = [
        ChatRow(
            chat.id,
            _team_name(teams, chat.team_id),
            local_time(chat.accepted_at),
            chat.summary,
            chat.emergency_level,
            _team_name(teams, chat.transfer_to) if chat.transfer_to else None,
            since.isoformat() if (since := unanswered.get(chat.id)) else "",
            minutes((now - since).total_seconds()) if since else "",
            _chat_identified_mark(teams, chat.team_id, chat.id in identified_chats),
        )
        for chat in held
    ]
    consulting = [
        (conversation_id, _team_name(teams, team_id))
        for conversation_id, team_id in (consultations.consulting(session, agent) if agent else [])
    ]
    return Overview(panels, chats, consulting)


def _team_name(teams: Teams, team_id: str) -> str:
    team = teams.get(team_id)
    return team.name if team else team_id


@dataclass(frozen=True)
class Line:
    """One message in the conversation view (``id`` is set for live messages)."""

    id: int | None
    sender: str
    who: str
    text: str
    at: str
    attachment_url: str | None = None


@dataclass(frozen=True)
class ConversationView:
    """A conversation as its team sees it: summary, the bot part, the live chat."""

    id: str
    team_id: str
    team_name: str
    status: str
    status_label: str
    summary: str
    emergency: str | None
    transfer_to: str | None
    held_by_me: bool
    queued: bool
    transcript: list[Line]
    messages: list[Line]
    transfer_targets: list[tuple[str, str]]
    notes: list[Line]
    canned_answers: tuple[tuple[str, str], ...] = ()
    resident_left: bool = False  # the resident ended or left the chat while it is still live
    consulting: bool = False  # the viewer is an invited consultant, not of the team
    participating: bool = False  # the consultant also takes part in the resident's chat
    thread: list[Line] = field(default_factory=list)  # the consultation thread (holder, consultants)
    consultants: list[consultations.Colleague] = field(default_factory=list)
    colleagues: list[consultations.Colleague] = field(default_factory=list)  # whom the holder may invite


def agent_of(session: Session, agent_id: int) -> Agent:
    """The logged-in user's account; :class:`Forbidden` when it is gone."""
    agent: Agent | None = session.get(Agent, agent_id)
    if agent is None:
        raise Forbidden("the agent account is gone")
    return agent


def conversation_view(
    session: Session, teams: Teams, user: DeskUser, conversation_id: str, now: datetime
) -> ConversationView:
    """The conversation, if it belongs to one of the user's teams; the view is audited."""
    agent = agent_of(session, user.agent_id)
    conversation, consulting = consultations.viewable(session, agent, conversation_id)
    live.record_view(session, agent, conversation, now)
    transcript = [
        Line(
            None,
            str(turn.get("sender", "")),
            label("sender", str(turn.get("sender", "")), ""),
            str(turn.get("text", "")),
            "",
        )
        for turn in conversation.transcript or []
    ]
    lines = [
        Line(
            message.id,
            message.sender,
            message.author or label("sender", message.sender, message.sender),
            message.text,
            local_time(message.created_at),
        )
        for message in live.messages_of(session, conversation.id)
    ]
    if conversation.agent_id == agent.id:  # the attachments are its professional's to download
        files = uploads.of_messages(session, conversation.id)
        lines = [
            replace(line, attachment_url=uploads.download_path(conversation.id, files[line.id].id))
            if line.id in files
            else line
            for line in lines
        ]
    note_lines = (
        []
        if consulting  # the team's own notes stay the team's
        else [
            Line(note.id, "note", note.author, note.text, local_time(note.created_at))
            for note in notes.notes_of(session, conversation.id)
        ]
    )
    held_by_me = conversation.status == queue.ACTIVE and conversation.agent_id == agent.id
    in_thread = held_by_me or consulting
    thread = [
        Line(message.id, "consultation", message.author, message.text, local_time(message.created_at))
        for message in (consultations.thread(session, conversation.id) if in_thread else [])
    ]
    left_note = messages.text("desk.resident_left")
    return ConversationView(
        resident_left=conversation.status == queue.ACTIVE
        and any(line.sender == live.SYSTEM and line.text == left_note for line in lines),
        notes=note_lines,
        id=conversation.id,
        team_id=conversation.team_id,
        team_name=_team_name(teams, conversation.team_id),
        status=conversation.status,
        status_label=label("status", conversation.status, conversation.status),
        summary=conversation.summary,
        emergency=conversation.emergency_level,
        transfer_to=_team_name(teams, conversation.transfer_to) if conversation.transfer_to else None,
        held_by_me=held_by_me,
        queued=conversation.status == queue.WAITING,
        transcript=transcript,
        messages=lines,
        transfer_targets=[(team.id, team.name) for team in teams if team.id != conversation.team_id],
        canned_answers=team.canned_answers if (team := teams.get(conversation.team_id)) else (),
        consulting=consulting,
        participating=consulting and consultations.is_participant(session, agent, conversation.id),
        thread=thread,
        consultants=consultations.consultants(session, conversation.id) if in_thread else [],
        colleagues=consultations.colleagues(session, agent, conversation.id) if held_by_me else [],
    )


@dataclass(frozen=True)
class RequestRow:
    """A contact request in a team's inbox: ``due`` is the promised reply date, ``overdue`` whether
    it has passed while the request is open."""

    id: int
    reference: str
    created: str
    topic: str
    message: str
    contact: str
    status: str
    handled_by: str | None
    handled_at: str
    due: str = ""
    overdue: bool = False
    note: str | None = None


def inbox(
    session: Session, user: DeskUser, team_id: str, now: datetime, limit: int = 100
) -> list[RequestRow]:
    """A team's contact requests: the open ones by their reply date (the earliest first), then the
    most recently handled."""
    if team_id not in user.teams:
        raise Forbidden(f"agent {user.username!r} is not a member of team {team_id!r}")
    requests = select(ContactRequest, Agent.display_name).outerjoin(
        Agent, Agent.id == ContactRequest.handled_by
    )
    mine = requests.where(ContactRequest.team_id == team_id)
    open_rows = session.execute(
        mine.where(ContactRequest.status == "open")
        .order_by(ContactRequest.reply_by.is_(None), ContactRequest.reply_by, ContactRequest.created_at)
        .limit(limit)
    ).all()
    handled_rows = session.execute(
        mine.where(ContactRequest.status != "open").order_by(ContactRequest.handled_at.desc()).limit(limit)
    ).all()
    today = now.astimezone(HELSINKI).date()
    return [_request_row(request, handler, today) for request, handler in [*open_rows, *handled_rows][:limit]]


def _request_row(request: ContactRequest, handler: str | None, today: date) -> RequestRow:
    reply_by = request.reply_by
    return RequestRow(
        request.id,
        request.reference,
        local_time(request.created_at),
        request.topic,
        request.message,
        _contact(request.contact_method, request.contact_value),
        request.status,
        handler,
        local_time(request.handled_at),
        f"{reply_by.day}.{reply_by.month}.{reply_by.year}" if reply_by else "",
        request.status == "open" and reply_by is not None and reply_by < today,
        request.handled_note,
    )


MAX_QUERY_LENGTH = 100
ENDED_SHOWN = 50


@dataclass(frozen=True)
class EndedRow:
    """An ended chat in the team's list: when, how, with whom, and its summary."""

    id: str
    ended: str
    status_label: str
    agent: str | None
    summary: str
    emergency: str | None


def ended_chats(session: Session, user: DeskUser, team_id: str, query: str = "") -> list[EndedRow]:
    """The team's ended chats still kept (retention purges the older), the latest first; ``query``
    keeps those whose summary or messages contain it. Opening one is audited (:func:`conversation_view`)."""
    if team_id not in user.teams:
        raise Forbidden(f"agent {user.username!r} is not a member of team {team_id!r}")
    statement = (
        select(Conversation, Agent.display_name)
        .outerjoin(Agent, Agent.id == Conversation.agent_id)
        .where(Conversation.team_id == team_id, Conversation.status.not_in(queue.OPEN_STATUSES))
    )
    words = query.strip()[:MAX_QUERY_LENGTH]
    if words:
        pattern = f"%{_escape_like(words)}%"
        in_messages = select(Message.id).where(
            Message.conversation_id == Conversation.id, Message.text.ilike(pattern, escape="\\")
        )
        statement = statement.where(Conversation.summary.ilike(pattern, escape="\\") | in_messages.exists())
    ordered = statement.order_by(func.coalesce(Conversation.ended_at, Conversation.created_at).desc())
    return [
        EndedRow(
            conversation.id,
            local_time(conversation.ended_at or conversation.created_at),
            label("status", conversation.status, conversation.status),
            agent,
            (conversation.summary or "")[:200],
            conversation.emergency_level,
        )
        for conversation, agent in session.execute(ordered.limit(ENDED_SHOWN)).all()
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contact(method: str, value: str) -> str:
    """``puhelin: 040 123 4567`` for the desk's list of contact requests."""
    return f"{label('contact_method', method, method)}: {value}"


def mark_handled(session: Session, user: DeskUser, request_id: int, note: str, now: datetime) -> str:
    """Mark a contact request of the user's team handled (:func:`handoff.contact.mark_handled`)."""
    return contact.mark_handled(session, request_id, user.teams, (user.agent_id, user.username), note, now)


def template_globals() -> dict[str, Any]:
    """What every desk template can use: ``t`` and ``label`` for texts, and the script's messages."""
    catalogue = desk_catalogue()
    script_messages = catalogue.subset("desk.sender.", "desk.script.")
    return {
        "t": text,
        "label": label,
        "language": catalogue.language,
        "script_messages": json.dumps(script_messages, ensure_ascii=False),
    }


def accounts(session: Any) -> list[dict[str, Any]]:
    """Every account for the administrators' page, by username."""
    rows = session.execute(select(Agent).order_by(Agent.username)).scalars()
    return [
        {
            "username": agent.username,
            "display_name": agent.display_name,
            "role": agent.role,
            "active": agent.active,
            "must_change_password": agent.must_change_password,
            "teams": sorted(membership.team_id for membership in agent.memberships),
        }
        for agent in rows
    ]


def add_note(session: Session, user: DeskUser, conversation_id: str, text: str, now: datetime) -> Line:
    """A professionals-only note on the conversation (:func:`handoff.notes.add_note`), as the page
    lists it."""
    agent = agent_of(session, user.agent_id)
    note = notes.add_note(session, agent, conversation_id, text, now)
    return Line(note.id, "note", note.author, note.text, local_time(note.created_at))


def write_in_thread(session: Session, user: DeskUser, conversation_id: str, text: str, now: datetime) -> Line:
    """A consultation thread message (:func:`handoff.consultations.write`), as the page lists it."""
    message = consultations.write(session, agent_of(session, user.agent_id), conversation_id, text, now)
    return Line(message.id, "consultation", message.author, message.text, local_time(message.created_at))
