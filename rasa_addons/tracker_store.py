"""A SQL tracker store configured by one ``DATABASE_URL``, with a SQLite default.

When the database is out of reach (PostgreSQL restarting: connections dropped,
new ones refused for a second), reading and saving a conversation are tried
again after :data:`RECONNECT_PAUSES_S`, about 4 s in all. Rasa's own wrapper
would otherwise answer the resident from an empty conversation and keep the
turn in the process's memory only: the fault suite found turns answered but
never stored (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import OperationalError

logger = logging.getLogger(__name__)
T = TypeVar("T")

DATABASE_URL_ENV = "DATABASE_URL"
RECONNECT_PAUSES_S = (0.25, 0.5, 1.0, 2.0)


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
    """Rasa's ``SQLTrackerStore`` pointed at ``DATABASE_URL`` or a SQLite file.

    Configured in ``endpoints.yml``::

        tracker_store:
          type: rasa_addons.tracker_store.DatabaseUrlTrackerStore
          default_sqlite_path: var/rasa-tracker.db
    """

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        default_sqlite_path: str = "var/rasa-tracker.db",
        **kwargs: Any,
    ) -> None:
        kwargs.pop("host", None)  # the endpoint's `url`; the URL comes from the environment
        url = resolve_database_url(os.environ.get(DATABASE_URL_ENV), default_sqlite_path)
        # SQLTrackerStore uses a `host` that contains "://" as the complete URL.
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        self.engine.hide_parameters = True  # database errors in logs without the messages

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation, read again while the database is out of reach."""
        retrieve = super().retrieve
        return await self._reconnecting(lambda: retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """The whole conversation, read again while the database is out of reach."""
        full = super().retrieve_full_tracker
        return await self._reconnecting(lambda: full(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the turn's events, again while the database is out of reach."""
        save = super().save
        await self._reconnecting(lambda: save(tracker))

    async def _reconnecting(self, attempt: Callable[[], Awaitable[T]]) -> T:
        for pause in RECONNECT_PAUSES_S:
            try:
                return await attempt()
            except OperationalError as error:
                if self.engine.dialect.name == "sqlite" and not error.connection_invalidated:
                    raise  # the file's own errors: trying again would not help
                logger.warning("the tracker store is out of reach (%s); trying again", type(error).__name__)
                await asyncio.sleep(pause)
        return await attempt()
