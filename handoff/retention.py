"""Retention: delete what is past its time from every store Opastin writes.

How long a conversation is kept depends on the team it was routed to
(``retention_days`` in the teams file; handed off, left a contact request, or
routed by the bot), or on ``retention.unrouted_days`` when it never was. Idle
time counts from the last activity. The stores:

* the handoff service's tables: handed-off conversations with their messages,
  professionals' notes, queue entries and strong identification (the
  encrypted identity code and the login attempts; after they ended), contact requests (after they were
  handled, or created if never), residents' chat sessions with what they saw,
  feedback, the learning queue's unreviewed items (:mod:`handoff.learning`), the
  professionals' consultation rooms' messages (:mod:`handoff.rooms`);
* Rasa's tracker store (the ``events`` table, through the same database URL
  Rasa uses): every event of a conversation idle longer than its retention;
* the audit log, on its own longer setting (``retention.audit_days``); it
  records who did what, never message content;
* files: contact requests waiting in the action server's outbox or refused by
  the service (``rejected/``), and rotated log files.

Queued and live conversations are never touched. A conversation is counted
for the statistics before it is purged, if it was not yet; the counts
(:mod:`handoff.counting`) hold no personal data and are kept. :func:`purge` is
what ``python -m handoff purge`` runs once and what the service runs daily.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import MetaData, Table, create_engine, delete, func, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from handoff import audit, counting, learning, rooms, uploads
from handoff.attachments.store import ATTACHMENTS_DIR, remove_orphans
from handoff.db import Database
from handoff.models import (
    AgentSession,
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
    Message,
    QueueEntry,
    ResidentSession,
    SessionMessage,
)
from handoff.payloads import route_of
from handoff.queue import OPEN_STATUSES
from handoff.settings import PROJECT_ROOT, Settings
from opastin.teams import Teams

logger = logging.getLogger(__name__)

STORES = (
    "conversations",
    "contact_requests",
    "resident_sessions",
    "feedback",
    "learning_items",
    "room_messages",
    "tracker_conversations",
    "audit_log",
    "outbox_files",
    "log_files",
    "attachment_files",
)
# A stored file gets its row a moment after it is written: files without one are left this long.
ORPHAN_GRACE_S = 3600
TRACKER_TABLE = "events"
BATCH = 500

_Item = TypeVar("_Item")


@dataclass(frozen=True)
class Places:
    """Where the stores outside the handoff database are."""

    tracker_url: str | None
    outbox_dir: Path
    log_dir: Path
    attachments_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Places:
        """The tracker store, the outbox, ``var/log`` and the attachment files as configured."""
        return cls(
            settings.tracker_database_url,
            settings.outbox_dir,
            PROJECT_ROOT / "var" / "log",
            settings.var_dir / ATTACHMENTS_DIR,
        )


@dataclass
class PurgeReport:
    """How many items each store lost in one run."""

    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STORES, 0))

    def lines(self) -> list[str]:
        """``store: count`` per store, in a fixed order."""
        return [f"{store}: {count}" for store, count in self.removed.items()]


def purge(database: Database, teams: Teams, places: Places, now: datetime) -> PurgeReport:
    """Delete everything past its retention at ``now`` from every store; the audit log records the counts."""
    report = PurgeReport()
    with database.writing() as session:
        report.removed.update(purge_handoff_tables(session, teams, now))
    if places.tracker_url:
        with database.reading() as session:
            report.removed["tracker_conversations"] = purge_tracker(places.tracker_url, session, teams, now)
    outbox_cutoff = now - timedelta(days=max(team.retention_days for team in teams))
    report.removed["outbox_files"] = remove_files_before(outbox_files(places.outbox_dir), outbox_cutoff)
    log_cutoff = now - timedelta(days=teams.retention.log_days)
    report.removed["log_files"] = remove_files_before(places.log_dir.glob("*.log.*"), log_cutoff)
    if places.attachments_dir is not None:  # the files of purged rows (wall-clock grace: uploads)
        with database.reading() as session:
            kept = uploads.kept_ids(session)
        before = time.time() - ORPHAN_GRACE_S
        report.removed["attachment_files"] = remove_orphans(places.attachments_dir, kept, before)
    with database.writing() as session:
        report.removed["audit_log"] = purge_audit_log(session, teams, now)
        if any(report.removed.values()):
            audit.record(session, "system", "retention.purge", None, now, **report.removed)
    return report


def purge_handoff_tables(session: Session, teams: Teams, now: datetime) -> dict[str, int]:
    """Delete expired conversations, contact requests, resident sessions, feedback, learning items and
    consultation rooms' messages.

    Conversations idle long enough to be purged are counted for the statistics
    first, if they were not yet (:mod:`handoff.counting`).
    """
    counting.count_idle_sessions(session, now - timedelta(days=_shortest_retention(teams)), now)
    return {
        "conversations": _purge_conversations(session, teams, now),
        "contact_requests": _purge_contact_requests(session, teams, now),
        "resident_sessions": _purge_resident_sessions(session, teams, now),
        "feedback": _purge_feedback(session, teams, now),
        "learning_items": learning.purge(session, teams, now),
        "room_messages": rooms.purge(session, teams, now),
    }


def routed_teams(session: Session, conversation_ids: Collection[str]) -> dict[str, str]:
    """The team each conversation was routed to: handed off, a contact request, or the bot's route."""
    found: dict[str, str] = {}
    for chunk in _chunks(conversation_ids):
        handed_off = select(Conversation.id, Conversation.team_id).where(Conversation.id.in_(chunk))
        found.update(dict(session.execute(handed_off).all()))
        requests = select(ContactRequest.conversation_id, ContactRequest.team_id).where(
            ContactRequest.conversation_id.in_(chunk)
        )
        for conversation_id, team_id in session.execute(requests).all():
            found.setdefault(conversation_id, team_id)
        routes = select(SessionMessage.conversation_id, SessionMessage.payload).where(
            SessionMessage.conversation_id.in_(chunk), SessionMessage.payload.is_not(None)
        )
        for conversation_id, payload in session.execute(routes).all():
            route = route_of(payload)
            if route is not None and route[0] == "team":
                found.setdefault(conversation_id, route[1])
    return found


def tracker_exists(url: str) -> bool:
    """Whether the tracker database can be there (a SQLite file is not created just to look)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return True
    return bool(parsed.database) and Path(parsed.database).exists()


@contextlib.contextmanager
def tracker_events(url: str | None) -> Iterator[tuple[Engine, Table] | None]:
    """An engine and Rasa's ``events`` table, or ``None`` while there is no tracker store yet."""
    if not url or not tracker_exists(url):
        yield None
        return
    engine = create_engine(url)
    try:
        found = inspect(engine).has_table(TRACKER_TABLE)
        yield (engine, Table(TRACKER_TABLE, MetaData(), autoload_with=engine)) if found else None
    finally:
        engine.dispose()


def purge_tracker(url: str, session: Session, teams: Teams, now: datetime) -> int:
    """Delete the events of Rasa conversations idle longer than their retention; returns how many."""
    with tracker_events(url) as tracker:
        if tracker is None:
            return 0
        engine, events = tracker
        earliest = (now - timedelta(days=_shortest_retention(teams))).timestamp()
        with engine.begin() as connection:
            idle = connection.execute(
                select(events.c.sender_id, func.max(events.c.timestamp))
                .group_by(events.c.sender_id)
                .having(func.max(events.c.timestamp) < earliest)
            ).all()
            expired = _expired(session, teams, now, {sender: last for sender, last in idle})
            for chunk in _chunks(expired):
                connection.execute(delete(events).where(events.c.sender_id.in_(chunk)))
        return len(expired)


def purge_audit_log(session: Session, teams: Teams, now: datetime) -> int:
    """Delete audit entries older than ``retention.audit_days``."""
    cutoff = now - timedelta(days=teams.retention.audit_days)
    deleted: int = session.execute(delete(AuditEntry).where(AuditEntry.created_at < cutoff)).rowcount
    return deleted


def outbox_files(outbox_dir: Path) -> list[Path]:
    """The action servers' kept contact requests: waiting, claimed by a courier (``*.sending``)
    or set aside in ``rejected/`` (actions/outbox.py)."""
    return sorted(path for pattern in ("*.json", "*.sending") for path in outbox_dir.rglob(pattern))


def remove_files_before(paths: Iterable[Path], cutoff: datetime) -> int:
    """Delete the files among ``paths`` last modified before ``cutoff``; returns how many."""
    removed = 0
    for path in paths:
        try:
            if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _purge_conversations(session: Session, teams: Teams, now: datetime) -> int:
    """Handed-off conversations ``retention_days`` after they ended (or were created, if they never did)."""
    removed = 0
    for team in teams:
        expired = select(Conversation.id).where(
            Conversation.team_id == team.id,
            Conversation.status.not_in(OPEN_STATUSES),
            func.coalesce(Conversation.ended_at, Conversation.created_at)
            < now - timedelta(days=team.retention_days),
        )
        ids = list(session.execute(expired).scalars())
        for chunk in _chunks(ids):
            for owned in (Attachment, Consultation, ConsultationMessage):
                session.execute(delete(owned).where(owned.conversation_id.in_(chunk)))
            session.execute(delete(Message).where(Message.conversation_id.in_(chunk)))
            session.execute(delete(ConversationNote).where(ConversationNote.conversation_id.in_(chunk)))
            for identity in (ConversationIdentity, ConversationSubject):
                session.execute(delete(identity).where(identity.conversation_id.in_(chunk)))
            session.execute(
                delete(IdentificationAttempt).where(IdentificationAttempt.conversation_id.in_(chunk))
            )
            session.execute(delete(QueueEntry).where(QueueEntry.conversation_id.in_(chunk)))
            session.execute(delete(Conversation).where(Conversation.id.in_(chunk)))
        removed += len(ids)
    return removed


def _purge_contact_requests(session: Session, teams: Teams, now: datetime) -> int:
    """Contact requests ``retention_days`` after they were handled (or created, if never handled)."""
    removed = 0
    for team in teams:
        cutoff = now - timedelta(days=team.retention_days)
        removed += session.execute(
            delete(ContactRequest)
            .where(
                ContactRequest.team_id == team.id,
                func.coalesce(ContactRequest.handled_at, ContactRequest.created_at) < cutoff,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    return removed


def _purge_resident_sessions(session: Session, teams: Teams, now: datetime) -> int:
    """Residents' sessions (and what they saw) idle longer than their conversation's retention.

    Expired desk sessions go too (they hold no personal data; not counted).
    """
    session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    earliest = now - timedelta(days=_shortest_retention(teams))
    idle = session.execute(
        select(ResidentSession.conversation_id, ResidentSession.last_seen_at).where(
            ResidentSession.last_seen_at < earliest
        )
    ).all()
    expired = _expired(session, teams, now, {cid: seen.timestamp() for cid, seen in idle})
    for chunk in _chunks(expired):
        session.execute(delete(SessionMessage).where(SessionMessage.conversation_id.in_(chunk)))
        session.execute(delete(ResidentSession).where(ResidentSession.conversation_id.in_(chunk)))
    return len(expired)


def _purge_feedback(session: Session, teams: Teams, now: datetime) -> int:
    """Feedback kept as long as its conversation would be."""
    earliest = now - timedelta(days=_shortest_retention(teams))
    columns = select(Feedback.id, Feedback.conversation_id, Feedback.created_at)
    old = session.execute(columns.where(Feedback.created_at < earliest)).all()
    teams_of = routed_teams(session, {cid for _, cid, _ in old if cid})
    ids = [
        feedback_id
        for feedback_id, cid, created in old
        if created < now - timedelta(days=teams.retention_days(teams_of.get(cid or "")))
    ]
    for chunk in _chunks(ids):
        session.execute(delete(Feedback).where(Feedback.id.in_(chunk)))
    return len(ids)


def _expired(session: Session, teams: Teams, now: datetime, last_active: dict[str, float]) -> list[str]:
    """The conversations (id → last activity, epoch seconds) idle past their retention and not open."""
    if not last_active:
        return []
    open_ids: set[str] = set()
    for chunk in _chunks(last_active):
        still_open = select(Conversation.id).where(
            Conversation.id.in_(chunk), Conversation.status.in_(OPEN_STATUSES)
        )
        open_ids.update(session.execute(still_open).scalars())
    teams_of = routed_teams(session, list(last_active))
    return [
        cid
        for cid, last in last_active.items()
        if cid not in open_ids
        and last < (now - timedelta(days=teams.retention_days(teams_of.get(cid)))).timestamp()
    ]


def _shortest_retention(teams: Teams) -> int:
    return min([team.retention_days for team in teams] + [teams.retention.unrouted_days])


def _chunks(items: Collection[_Item]) -> Iterator[list[_Item]]:
    values = list(items)
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]
