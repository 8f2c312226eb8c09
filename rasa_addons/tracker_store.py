"""A SQL tracker store configured by one ``DATABASE_URL``, with a SQLite default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

DATABASE_URL_ENV = "DATABASE_URL"


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
