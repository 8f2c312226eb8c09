"""A SQL tracker store configured by one ``DATABASE_URL``, with a SQLite default.

When the database is out of reach (PostgreSQL restarting: connections dropped,
new ones refused for a second), reading and saving a conversation are tried
again for about 4 s (:mod:`opastin.reconnect`). Rasa's own wrapper
would otherwise answer the resident from an empty conversation and keep the
turn in the process's memory only: the fault suite found turns answered but
never stored (docs/operations.md).

A conversation is read back **bounded**: its latest ``recent_turns`` messages
of the resident in full, and of everything before them only what still holds
(slots, an active form, a pause, a restart). Rasa otherwise reads, replays and
featurises the whole session for every message, so the 200th message of a
conversation took five times as long as the 10th (scripts/bench_cluster.py).
The database keeps every event; ``retrieve_full_tracker`` still reads them all.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Query, Session

from opastin.reconnect import again_while_unreachable_async

T = TypeVar("T")

DATABASE_URL_ENV = "DATABASE_URL"

# Events before the recent turns that still shape the conversation's state.
STATE_EVENT_TYPES = (
    "slot",
    "reset_slots",
    "active_loop",
    "form",
    "loop_interrupted",
    "action_execution_rejected",
    "pause",
    "resume",
    "restart",
    "session_started",
)
# Rows read to find the recent turns' start; a turn with more events than this is read whole.
ROWS_PER_TURN = 30
# Set on a tracker this store read: (how many events it was read with, the id of the last one).
_READ = "_opastin_read"


def resolve_database_url(env_value: str | None, default_sqlite_path: str) -> str:
    """Return the SQLAlchemy URL to store conversations in.

    ``env_value`` (the ``DATABASE_URL`` environment variable) wins when set; the
    Heroku-style ``postgres://`` scheme is accepted. Otherwise a SQLite file at
    ``default_sqlite_path`` (relative to the working directory) is used and its
    folder created.
    """
    if env_value and env_value.strip():
        url = env_value.strip()
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        return url
    path = Path(default_sqlite_path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class DatabaseUrlTrackerStore(SQLTrackerStore):  # type: ignore[misc]  # Rasa ships no types
    """Rasa's ``SQLTrackerStore`` pointed at ``DATABASE_URL`` or a SQLite file, read bounded.

    Configured in ``endpoints.yml``::

        tracker_store:
          type: rasa_addons.tracker_store.DatabaseUrlTrackerStore
          default_sqlite_path: var/rasa-tracker.db
          recent_turns: 12  # 0: read the whole session, as Rasa's own store does
    """

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        default_sqlite_path: str = "var/rasa-tracker.db",
        recent_turns: int = 12,
        **kwargs: Any,
    ) -> None:
        self.recent_turns = int(recent_turns)
        kwargs.pop("host", None)  # the endpoint's `url`; the URL comes from the environment
        url = resolve_database_url(os.environ.get(DATABASE_URL_ENV), default_sqlite_path)
        # SQLTrackerStore uses a `host` that contains "://" as the complete URL.
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        self.engine.hide_parameters = True  # database errors in logs without the messages

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's latest session, bounded; read again while the database is out of reach."""
        return await self._reconnecting(lambda: self._retrieve_recent(sender_id))

    async def _retrieve_recent(self, sender_id: str) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = self._recent_rows(session, sender_id)
        if not rows or not self.domain:
            return None
        events = [json.loads(data) for _, data in rows]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        setattr(tracker, _READ, (len(tracker.events), rows[-1][0]))
        return tracker

    def _recent_rows(self, session: Session, sender_id: str) -> list[tuple[int, str]]:
        """The ids and data of the session's rows from the action listening before the resident's
        ``recent_turns``-th latest message on, after the state-bearing rows before it (all rows of a
        shorter session). Plain rows, not ORM objects: building those was a fifth of the reading."""
        events = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
        table = self.SQLEvent
        start_id = self._first_recent_id(events) if self.recent_turns > 0 else None
        if start_id is not None:
            in_force = self._in_force_before(events, start_id)
            events = events.filter(sa.or_(table.id >= start_id, table.id.in_(in_force)))
        return [(row_id, data) for row_id, data in events.with_entities(table.id, table.data)]

    def _first_recent_id(self, events: Query) -> int | None:
        """The id of the action listening before the resident's ``recent_turns``-th latest message;
        ``None`` when the session has no more messages than that. Reads the latest rows only."""
        table = self.SQLEvent
        latest_first = events.with_entities(table.id, table.type_name, table.action_name).order_by(None)
        latest_first = latest_first.order_by(table.id.desc())
        limit = self.recent_turns * ROWS_PER_TURN
        rows = latest_first.limit(limit).all()
        users = [position for position, (_, kind, _) in enumerate(rows) if kind == "user"]
        if len(users) <= self.recent_turns and len(rows) == limit:  # unusually long turns: read them all
            rows = latest_first.all()
            users = [position for position, (_, kind, _) in enumerate(rows) if kind == "user"]
        if len(users) <= self.recent_turns:
            return None
        first = users[self.recent_turns - 1]
        before = rows[first + 1]
        return int(before[0] if before[2] == "action_listen" else rows[first][0])

    def _in_force_before(self, events: Query, start_id: int) -> list[int]:
        """The ids of the state-bearing rows before ``start_id`` that still hold, from the latest row
        of each kind (of each slot, for slots): one grouped query, however long the session."""
        table = self.SQLEvent
        slot = sa.case((table.type_name == "slot", table.action_name), else_=sa.null())
        latest_of_each = (
            events.filter(table.id < start_id, table.type_name.in_(STATE_EVENT_TYPES))
            .with_entities(sa.func.max(table.id), table.type_name, slot)
            .group_by(table.type_name, slot)
            .order_by(None)
            .all()
        )
        return still_in_force(sorted((int(row_id), kind, name) for row_id, kind, name in latest_of_each))

    def _event_query(self, session: Session, sender_id: str, fetch_events_from_all_sessions: bool) -> Query:
        """Rasa's query of a conversation's events (of its latest session, unless all are asked), with
        the session's start read first as a value. Rasa joins it as a subquery, and PostgreSQL,
        guessing from stale statistics that a conversation has one row, ran that subquery again for
        every row: the 200th message of a conversation took seven times as long as the 10th."""
        table = self.SQLEvent
        events = session.query(table).filter(table.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            started = session.query(sa.func.max(table.timestamp)).filter(
                table.sender_id == sender_id, table.type_name == SessionStarted.type_name
            )
            session_start = started.scalar()
            if session_start is not None:
                events = events.filter(table.timestamp >= session_start)
        return events.order_by(table.id)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """The whole conversation, read again while the database is out of reach."""
        full = super().retrieve_full_tracker
        return await self._reconnecting(lambda: full(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the turn's events, again while the database is out of reach."""
        await self._reconnecting(lambda: self._store_new_events(tracker))

    async def _store_new_events(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``save`` with one multi-row insert instead of an ORM object per event."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [_row(tracker.sender_id, event) for event in self._additional_events(session, tracker)]
            if rows:
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
            session.commit()

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator[Event]:
        """The tracker's events not stored yet. For a tracker this store read: those after the
        events it was read with and those stored since (an earlier save of this turn, or one whose
        commit reached the database before the connection dropped); otherwise counted as Rasa does."""
        if not hasattr(tracker, _READ):
            counted: Iterator[Event] = super()._additional_events(session, tracker)
            return counted
        read, last_id = getattr(tracker, _READ)
        table = self.SQLEvent
        stored_since = session.query(table).filter(table.sender_id == tracker.sender_id, table.id > last_id)
        return itertools.islice(tracker.events, read + stored_since.count(), len(tracker.events))

    async def _reconnecting(self, attempt: Callable[[], Awaitable[T]]) -> T:
        return await again_while_unreachable_async(attempt, self._unreachable, "the tracker store")

    def _unreachable(self, error: Exception) -> bool:
        """A dropped or refused connection; not a SQLite file's own errors (trying again would not help)."""
        if not isinstance(error, OperationalError):
            return False
        return self.engine.dialect.name != "sqlite" or bool(error.connection_invalidated)


def still_in_force(rows: Sequence[tuple[int, str, str | None]]) -> list[int]:
    """Of state-bearing rows ``(id, type, name)`` in order, the ids of those that still shape the
    state after all of them: the latest value of each slot since the latest reset, the latest form
    and what happened to it, the latest pause or resume; nothing before a restart."""
    kept: list[int] = []
    seen: set[tuple[str, str | None]] = set()
    slots_reset = loop_set = False
    for row_id, kind, name in reversed(rows):
        if kind == "slot":
            key = (kind, name)
            if slots_reset or key in seen:
                continue
        elif kind in ("active_loop", "form"):
            if loop_set:
                continue
            key, loop_set = (kind, None), True
        elif kind in ("loop_interrupted", "action_execution_rejected"):
            if loop_set:
                continue
            key = (kind, str(row_id))
        else:
            key = ("pause" if kind in ("pause", "resume") else kind, None)
            if key in seen:
                continue
        seen.add(key)
        kept.append(row_id)
        slots_reset = slots_reset or kind in ("reset_slots", "restart")
        if kind == "restart":
            break
    return sorted(kept)


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """An event as a row of Rasa's ``events`` table, as Rasa's own ``save`` writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
