"""The running service's shared state: what every transport (API, gateway, desk) is handed.

:class:`Services` is built once by :func:`handoff.app.create_app` and given to
the API routes, the chat gateway and the desk. It lives here, below all of
them, so that none of the transports imports another to reach it.

:class:`RenderedCache` keeps the rendered public status list: the resident
page polls ``GET /api/public/teams``; computing it costs a few database
queries and an opening-hours search per team. The rendered body is reused for
``HANDOFF_PUBLIC_CACHE_S`` seconds of the service clock (default 2 s; 0
disables), and dropped at once when this process changes a queue. In a
multi-replica setup another replica's change shows within that time.

:class:`Events` carries notifications from the API's synchronous handlers to
the gateway's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handoff.clock import Clock
from handoff.db import Database
from handoff.settings import Settings
from opastin.teams import Teams

logger = logging.getLogger(__name__)


class RenderedCache:
    """One cached value, valid for ``ttl_s`` seconds from when it was stored.

    The value and its time are kept in one attribute, so reads, stores and
    invalidations from different threads never see half an update.
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl = timedelta(seconds=ttl_s)
        self._entry: tuple[bytes, datetime] | None = None

    def fresh(self, now: datetime) -> bytes | None:
        """The stored value if it is still fresh at ``now``, else ``None``."""
        entry = self._entry
        if entry is None or not entry[1] <= now < entry[1] + self.ttl:
            return None
        return entry[0]

    def store(self, now: datetime, value: bytes) -> None:
        """Keep ``value``, computed at ``now``."""
        self._entry = (value, now)

    def invalidate(self) -> None:
        """Forget the stored value."""
        self._entry = None


class Events:
    """Hooks the service API calls after it changed a queue; a no-op until the gateway attaches.

    The API's handlers run in worker threads; :meth:`queue_changed` hands the
    notification over to the event loop the gateway runs on.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_queue_changed: Callable[[str], None] | None = None

    def attach(self, loop: asyncio.AbstractEventLoop, on_queue_changed: Callable[[str], None]) -> None:
        """Deliver future notifications to ``on_queue_changed`` on ``loop``."""
        self._loop, self._on_queue_changed = loop, on_queue_changed

    def detach(self) -> None:
        """Stop delivering notifications."""
        self._loop = self._on_queue_changed = None

    def queue_changed(self, team_id: str) -> None:
        """A conversation joined or left ``team_id``'s queue (callable from any thread)."""
        loop, callback = self._loop, self._on_queue_changed
        if loop is None or callback is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(callback, team_id)


@dataclass(frozen=True)
class Services:
    """Everything a request handler needs: settings, teams, database, clock, token, caches, events."""

    settings: Settings
    teams: Teams
    database: Database
    clock: Clock
    api_token: str
    public_cache: RenderedCache
    events: Events = field(default_factory=Events)

    def now(self) -> datetime:
        """The current time from the injected clock."""
        return self.clock()
