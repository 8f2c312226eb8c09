"""Data subject requests: everything of one conversation, from every store, exported or erased.

A resident asks the county's registry with the reference the chat page showed
("KS-7F3K-9QXA") or a contact request's reference ("YP-2026-012345").
:func:`find` collects the conversation from the handoff service's tables, Rasa's
tracker store and the action server's outbox; :func:`export` returns it as a
JSON-ready dict, :func:`erase` deletes it. Either way the audit log keeps the
fact of the request (who, what, which reference, how many items), never its
content. ``python -m handoff subject export|erase --reference …`` runs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.attachments.store import remove_files
from handoff.db import Database
from handoff.models import (
    Attachment,
    AuditEntry,
    Consultation,
    ConsultationMessage,
    ContactRequest,
    Conversation,
    ConversationIdentity,
    ConversationNote,
    ConversationSubject,
    Feedback,
    IdentificationAttempt,
    LearningItem,
    Message,
    QueueEntry,
    ResidentSession,
    SessionMessage,
)
from handoff.retention import Places, outbox_files, tracker_events


class UnknownReference(LookupError):
    """No conversation or contact request has this reference."""


@dataclass
class Found:
    """What one conversation left in every store."""

    reference: str
    conversation_id: str | None
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outbox_files: list[Path] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Items per store, for the audit log."""
        counts = {name: len(rows) for name, rows in self.tables.items()}
        return {**counts, "outbox_files": len(self.outbox_files)}


def find(session: Session, places: Places, reference: str) -> Found:
    """Everything of the conversation (or contact request) with ``reference``."""
    reference = reference.strip().upper()
    conversation_id = _conversation_of(session, reference)
    found = Found(reference, conversation_id)
    if conversation_id is None:  # a contact request left without a conversation (e.g. over REST)
        requests = select(ContactRequest).where(ContactRequest.reference == reference)
        found.tables["contact_requests"] = [_row(request) for request in session.execute(requests).scalars()]
        return found
    by_conversation = {
        "resident_sessions": select(ResidentSession).where(
            ResidentSession.conversation_id == conversation_id
        ),
        "session_messages": select(SessionMessage).where(SessionMessage.conversation_id == conversation_id),
        "conversations": select(Conversation).where(Conversation.id == conversation_id),
        "messages": select(Message).where(Message.conversation_id == conversation_id),
        "conversation_notes": select(ConversationNote).where(
            ConversationNote.conversation_id == conversation_id
        ),
        "conversation_identities": select(ConversationIdentity).where(
            ConversationIdentity.conversation_id == conversation_id
        ),
        "conversation_subjects": select(ConversationSubject).where(
            ConversationSubject.conversation_id == conversation_id
        ),
        "identification_attempts": select(IdentificationAttempt).where(
            IdentificationAttempt.conversation_id == conversation_id
        ),
        "attachments": select(Attachment).where(Attachment.conversation_id == conversation_id),
        "consultations": select(Consultation).where(Consultation.conversation_id == conversation_id),
        "consultation_messages": select(ConsultationMessage).where(
            ConsultationMessage.conversation_id == conversation_id
        ),
        "queue_entries": select(QueueEntry).where(QueueEntry.conversation_id == conversation_id),
        "contact_requests": select(ContactRequest).where(ContactRequest.conversation_id == conversation_id),
        "feedback": select(Feedback).where(Feedback.conversation_id == conversation_id),
        "learning_items": select(LearningItem).where(LearningItem.conversation_id == conversation_id),
        "audit_log": select(AuditEntry).where(AuditEntry.object_id == conversation_id),
    }
    for name, statement in by_conversation.items():
        found.tables[name] = [_row(item) for item in session.execute(statement).scalars()]
    found.tables["tracker_events"] = _tracker_events(places.tracker_url, conversation_id)
    found.outbox_files = [
        path for path in outbox_files(places.outbox_dir) if _mentions(path, conversation_id)
    ]
    return found


def export(database: Database, places: Places, reference: str, actor: str, now: datetime) -> dict[str, Any]:
    """The conversation as JSON-ready data; the audit log records that it was exported."""
    with database.reading() as session:
        found = find(session, places, reference)
    if not any(found.counts().values()):
        raise UnknownReference(reference)
    with database.writing() as session:
        audit.record(
            session,
            actor,
            "subject.export",
            found.conversation_id,
            now,
            reference=found.reference,
            **found.counts(),
        )
    outbox = [json.loads(path.read_text(encoding="utf-8")) for path in found.outbox_files]
    return {"reference": found.reference, "exported_at": now.isoformat(), **found.tables, "outbox": outbox}


def erase(database: Database, places: Places, reference: str, actor: str, now: datetime) -> dict[str, int]:
    """Delete the conversation from every store; returns the counts (also written to the audit log).

    The audit entries about the conversation stay (who saw it and when): they hold no content,
    and the county must be able to show them.
    """
    with database.writing() as session:
        found = find(session, places, reference)
        counts = found.counts()
        if not any(counts.values()):
            raise UnknownReference(reference)
        counts.pop("audit_log", None)
        _delete_rows(session, found)
        audit.record(
            session, actor, "subject.erase", found.conversation_id, now, reference=found.reference, **counts
        )
    if found.conversation_id is not None:
        _delete_tracker_events(places.tracker_url, found.conversation_id)
    for path in found.outbox_files:
        path.unlink(missing_ok=True)
    if places.attachments_dir is not None:  # the files of the rows just deleted
        remove_files(places.attachments_dir, [row["id"] for row in found.tables.get("attachments", [])])
    return counts


def _conversation_of(session: Session, reference: str) -> str | None:
    by_session = select(ResidentSession.conversation_id).where(ResidentSession.reference == reference)
    conversation_id: str | None = session.execute(by_session).scalar_one_or_none()
    if conversation_id is None:
        by_request = select(ContactRequest.conversation_id).where(ContactRequest.reference == reference)
        conversation_id = session.execute(by_request).scalar_one_or_none()
    return conversation_id


def _delete_rows(session: Session, found: Found) -> None:
    conversation_id = found.conversation_id
    if conversation_id is None:
        session.execute(delete(ContactRequest).where(ContactRequest.reference == found.reference))
        return
    for owned in (Attachment, Consultation, ConsultationMessage):
        session.execute(delete(owned).where(owned.conversation_id == conversation_id))
    session.execute(delete(Message).where(Message.conversation_id == conversation_id))
    session.execute(delete(ConversationNote).where(ConversationNote.conversation_id == conversation_id))
    for identification in (ConversationIdentity, ConversationSubject, IdentificationAttempt):
        session.execute(delete(identification).where(identification.conversation_id == conversation_id))
    session.execute(delete(QueueEntry).where(QueueEntry.conversation_id == conversation_id))
    session.execute(delete(Conversation).where(Conversation.id == conversation_id))
    session.execute(delete(ContactRequest).where(ContactRequest.conversation_id == conversation_id))
    session.execute(delete(Feedback).where(Feedback.conversation_id == conversation_id))
    session.execute(delete(LearningItem).where(LearningItem.conversation_id == conversation_id))
    session.execute(delete(SessionMessage).where(SessionMessage.conversation_id == conversation_id))
    session.execute(delete(ResidentSession).where(ResidentSession.conversation_id == conversation_id))


def _tracker_events(url: str | None, conversation_id: str) -> list[dict[str, Any]]:
    with tracker_events(url) as tracker:
        if tracker is None:
            return []
        engine, events = tracker
        with engine.connect() as connection:
            rows = connection.execute(
                select(events.c.type_name, events.c.timestamp, events.c.data)
                .where(events.c.sender_id == conversation_id)
                .order_by(events.c.id)
            ).all()
    return [
        {"type": kind, "timestamp": timestamp, "event": json.loads(data)} for kind, timestamp, data in rows
    ]


def _delete_tracker_events(url: str | None, conversation_id: str) -> None:
    with tracker_events(url) as tracker:
        if tracker is not None:
            engine, events = tracker
            with engine.begin() as connection:
                connection.execute(delete(events).where(events.c.sender_id == conversation_id))


def _mentions(path: Path, conversation_id: str) -> bool:
    try:
        mentioned: bool = (
            json.loads(path.read_text(encoding="utf-8")).get("conversation_id") == conversation_id
        )
        return mentioned
    except (OSError, ValueError, AttributeError):
        return False


# Secrets and their hashes are left out of an export; the identity code is stored encrypted and
# exported as a mark only (the key stays with the service).
_LEFT_OUT = {"secret_hash", "ticket_hash", "state_hash", "browser_hash", "nonce", "code_verifier"}
ENCRYPTED_MARK = "(stored encrypted)"


def _row(item: Any) -> dict[str, Any]:
    """A model instance as plain values (dates and datetimes as ISO 8601; secrets left out)."""
    values: dict[str, Any] = {}
    for column in item.__table__.columns:
        if column.name in _LEFT_OUT:
            continue
        if isinstance(item, ConversationIdentity | ConversationSubject) and column.name == "identity_code":
            values[column.name] = ENCRYPTED_MARK
            continue
        value = getattr(item, column.name)
        values[column.name] = value.isoformat() if isinstance(value, datetime | date) else value
    return values
