"""Thread-safe notifications from synchronous request handlers to the gateway's event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


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
