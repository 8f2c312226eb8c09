"""Socket.io's Redis queue between the service's replicas, and what to do after it was away.

Redis publish/subscribe keeps nothing: an event one replica publishes while
another is not subscribed (Redis restarting, or just restarted before the
other resubscribed) never reaches that replica's sockets. The messages
themselves are stored, so nothing is lost from the database, but a resident
or a professional whose socket stayed connected would never see them: the
fault suite found two residents' messages and one agent's reply stored and
never shown when Redis was killed (docs/operations.md).

:class:`GapAwareRedisManager` notices when its subscription is made again
after the first and calls ``on_gap``; the gateway then asks its own sockets to
catch up from the database (the ``resync`` event: the widget requests its
session again and redraws the conversation from its history, the desk reloads
the open conversation and its lists), as they do after a reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio

logger = logging.getLogger(__name__)


class GapAwareRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]  # python-socketio ships no types
    """``AsyncRedisManager`` that calls ``on_gap`` each time it subscribes again after a failure."""

    def __init__(self, url: str, on_gap: Callable[[], None], **options: Any) -> None:
        """Connect to Redis at ``url`` (as socket.io's manager does); ``on_gap`` must not block."""
        super().__init__(url, **options)
        self.on_gap = on_gap
        self._subscribed_before = False

    def _redis_connect(self) -> None:
        """Socket.io's connect, with the new subscription watched (publishing reconnects here too)."""
        super()._redis_connect()
        subscribe = self.pubsub.subscribe

        async def subscribe_and_notice(*channels: Any, **options: Any) -> Any:
            result = await subscribe(*channels, **options)
            if self._subscribed_before:
                logger.warning("Subscribed to Redis again: the sockets here catch up from the database")
                self.on_gap()
            self._subscribed_before = True
            return result

        self.pubsub.subscribe = subscribe_and_notice
