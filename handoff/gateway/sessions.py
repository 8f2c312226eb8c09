"""Residents' chat sessions and what they saw: database operations of the gateway (sync).

A session is bound to a secret the server issues (``secrets.token_urlsafe(32)``);
only its SHA-256 is stored. The conversation id (the Rasa sender id) is a
separate server-generated id that never leaves the server, so knowing it
gives no access to the conversation.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from handoff import consultations, counting, live
from handoff.gateway.consent import consent_answer
from handoff.models import Consultation, Conversation, ResidentSession, SessionMessage
from handoff.queue import ACTIVE, OPEN_STATUSES
from opastin.privacy import mask_hetu

HISTORY_LIMIT = 50
REFERENCE_PREFIX = "KS"
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_SECRET_LENGTH = 128

EmergencyDetector = Callable[[str], str | None]

# The relay's statements, built once (building a statement costs more than running it). They
# bypass the ORM: each caller flushes the session's pending changes first, and no loaded
# object sees what they change.
_SESSIONS, _SESSION_MESSAGES = ResidentSession.__table__, SessionMessage.__table__
_CONVERSATIONS = Conversation.__table__
_KNOWN_SESSION = select(_SESSIONS.c.conversation_id).where(
    _SESSIONS.c.conversation_id == bindparam("conversation_id")
)
_SEEN = (
    _SESSIONS.update()
    .where(_SESSIONS.c.conversation_id == bindparam("conversation"))
    .values(last_seen_at=bindparam("now"))
)
_INSERT_SESSION_MESSAGE = _SESSION_MESSAGES.insert()
_CONSULTATIONS = Consultation.__table__
_LIVE_STATE = select(
    _CONVERSATIONS.c.status,
    _CONVERSATIONS.c.team_id,
    _CONVERSATIONS.c.agent_id,
    _CONVERSATIONS.c.transfer_to,
    select(_CONSULTATIONS.c.id)
    .where(_CONSULTATIONS.c.conversation_id == _CONVERSATIONS.c.id, _CONSULTATIONS.c.ended_at.is_(None))
    .exists()
    .label("consulted"),
).where(_CONVERSATIONS.c.id == bindparam("conversation_id"))


@dataclass(frozen=True)
class Binding:
    """A socket's conversation: the secret to give the browser, its reference, and whether it was resumed."""

    conversation_id: str
    secret: str
    resumed: bool
    reference: str | None = None


@dataclass(frozen=True)
class LiveState:
    """A conversation's handoff while it is queued or with an agent."""

    status: str
    team_id: str
    agent_id: int | None
    transfer_to: str | None
    consulted: bool = False  # it may have consultants (a consultation not ended)


@dataclass(frozen=True)
class ResidentTurn:
    """Where a resident message goes: the bot (``live`` is ``None``) or the agent side."""

    live: LiveState | None
    text: str
    message_id: int | None = None
    created_at: datetime | None = None
    emergency: str | None = None
    consent: bool | None = None
    watchers: tuple[int, ...] = ()  # the live chat's consultants, who see it as it goes


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a session secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(session: Session, secret: object, now: datetime, resume_within: timedelta) -> Binding:
    """Resume the session of ``secret``, or start a new one with a new secret.

    A session resumes when it was not ended and was active within ``resume_within``
    (a shared computer must not show the last resident's conversation), or while
    its conversation is queued or with a professional.
    """
    if isinstance(secret, str) and 0 < len(secret) <= MAX_SECRET_LENGTH:
        row = session.execute(
            select(ResidentSession).where(ResidentSession.secret_hash == hash_secret(secret))
        ).scalar_one_or_none()
        if (
            row is not None
            and row.ended_at is None
            and (
                now - row.last_seen_at <= resume_within
                or live_state(session, row.conversation_id) is not None
            )
        ):
            row.last_seen_at = now
            return Binding(row.conversation_id, secret, resumed=True, reference=row.reference)
    new_secret = secrets.token_urlsafe(32)
    conversation_id = f"w-{secrets.token_hex(16)}"
    reference = new_reference()
    session.add(
        ResidentSession(
            conversation_id=conversation_id,
            secret_hash=hash_secret(new_secret),
            created_at=now,
            last_seen_at=now,
            reference=reference,
        )
    )
    session.flush()
    return Binding(conversation_id, new_secret, resumed=False, reference=reference)


def new_reference() -> str:
    """A conversation reference like ``KS-7F3K-9QXA`` (no look-alike letters; 32⁸ values)."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}-{code[:4]}-{code[4:]}"


def conversation_of_secret(session: Session, secret: object) -> str | None:
    """The conversation of the known, not ended resident session ``secret``, else ``None``."""
    if not isinstance(secret, str) or not 0 < len(secret) <= MAX_SECRET_LENGTH:
        return None
    known = select(ResidentSession.conversation_id, ResidentSession.ended_at).where(
        ResidentSession.secret_hash == hash_secret(secret)
    )
    row = session.execute(known).first()
    return row.conversation_id if row is not None and row.ended_at is None else None


def resumable_secret(session: Session, secret: object) -> bool:
    """Whether ``secret`` is a known, not ended session's (so resuming it creates no new row)."""
    return conversation_of_secret(session, secret) is not None


def end_session(session: Session, conversation_id: str, now: datetime) -> None:
    """The resident ended the conversation: its secret will not resume it again, and it is counted."""
    row = session.get(ResidentSession, conversation_id, with_for_update=True)
    if row is not None and row.ended_at is None:
        row.ended_at = now
        counting.count_session(session, row, now)


def record(
    session: Session,
    conversation_id: str,
    sender: str,
    text: str | None,
    payload: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Keep one message as the resident saw it (``sender``: resident, bot, agent or system).

    Conversations that did not come through the gateway (no resident session) are skipped.
    """
    session.flush()
    if session.execute(_KNOWN_SESSION, {"conversation_id": conversation_id}).first() is None:
        return
    _insert_session_message(session, conversation_id, sender, text, payload, now)


def _insert_session_message(
    session: Session,
    conversation_id: str,
    sender: str,
    text: str | None,
    payload: dict[str, Any] | None,
    now: datetime,
) -> None:
    values = {
        "conversation_id": conversation_id,
        "sender": sender,
        "text": text,
        "payload": payload,
        "created_at": now,
    }
    session.execute(_INSERT_SESSION_MESSAGE, values)


def record_uttered(session: Session, conversation_id: str, message: dict[str, Any], now: datetime) -> None:
    """Keep a ``bot_uttered`` message; its sender comes from ``custom.sender`` (default bot)."""
    payload = {key: value for key, value in message.items() if key != "text"}
    sender = (message.get("custom") or {}).get("sender", "bot")
    record(session, conversation_id, sender, message.get("text"), payload or None, now)


def history(session: Session, conversation_id: str, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The last ``limit`` messages as ``bot_uttered`` payloads marked ``custom.history``, oldest first."""
    rows = session.execute(
        select(SessionMessage)
        .where(SessionMessage.conversation_id == conversation_id)
        .order_by(SessionMessage.id.desc())
        .limit(limit)
    ).scalars()
    return [_as_history(row) for row in reversed(list(rows))]


def _as_history(row: SessionMessage) -> dict[str, Any]:
    message: dict[str, Any] = dict(row.payload or {})
    if row.text is not None:
        message["text"] = row.text
    custom = dict(message.get("custom") or {})
    custom["history"] = True
    if row.sender != "bot":
        custom.setdefault("sender", row.sender)
    message["custom"] = custom
    return message


def told_already(session: Session, conversation_id: str, text: str) -> bool:
    """Whether the system message ``text`` has been shown in this conversation."""
    shown = select(SessionMessage.id).where(
        SessionMessage.conversation_id == conversation_id,
        SessionMessage.sender == "system",
        SessionMessage.text == text,
    )
    return session.execute(shown.limit(1)).first() is not None


def live_state(session: Session, conversation_id: str) -> LiveState | None:
    """The conversation's handoff if it is queued or active, else ``None`` (bot mode)."""
    session.flush()
    row = session.execute(_LIVE_STATE, {"conversation_id": conversation_id}).first()
    if row is None or row.status not in OPEN_STATUSES:
        return None
    return LiveState(row.status, row.team_id, row.agent_id, row.transfer_to, bool(row.consulted))


def take_resident_message(
    session: Session, conversation_id: str, text: str, now: datetime, emergency: str | None
) -> ResidentTurn:
    """Store a resident message (masked) and decide where it goes.

    On the agent side it is also stored with the conversation, flagged if
    ``emergency`` (the detector's level for ``text``, computed before the
    write transaction) is set, and checked for an answer to a pending
    transfer question.
    """
    masked = mask_hetu(text)
    session.flush()
    seen = session.execute(_SEEN, {"conversation": conversation_id, "now": now})
    if seen.rowcount:  # the conversation has a resident session: keep what they wrote
        _insert_session_message(session, conversation_id, "resident", masked, None, now)
    state = live_state(session, conversation_id)
    if state is None:
        return ResidentTurn(None, masked)
    message = live.add_message(session, conversation_id, live.RESIDENT, text, now)
    if emergency is not None:
        live.flag_emergency(session, conversation_id, emergency, now)
    pending = state.status == ACTIVE and state.transfer_to is not None
    consent = consent_answer(text) if pending else None
    consulted = state.status == ACTIVE and state.consulted
    watchers = consultations.watchers(session, conversation_id) if consulted else ()
    return ResidentTurn(state, masked, message.id, now, emergency, consent, watchers)
