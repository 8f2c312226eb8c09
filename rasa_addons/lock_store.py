"""Rasa's lock store: in memory for one Rasa server, in Redis (made safe) for several.

A lock store makes the messages of one conversation wait for each other, so that
no two Rasa servers change its tracker at once (two replicas behind a load
balancer; ``make run-cluster``). Rasa's own ``RedisLockStore`` keeps each
conversation's ticket queue as one JSON value that it reads, changes and writes
back without a transaction: two servers that receive a message of the same
conversation at the same moment both read an empty queue, both take ticket 0, both
process at once, and the tracker store keeps the events of only one of them (a
resident's message lost; tests/integration/test_cluster.py caught it).

:class:`AtomicRedisLockStore` does each read-change-write of a conversation's queue
under a short Redis lock of that conversation (``SET NX PX``, released by its
owner only), and polls for its turn every :data:`WAIT_S` seconds instead of every
second. :class:`RedisUrlLockStore`, configured in ``endpoints.yml``, chooses::

    lock_store:
      type: rasa_addons.lock_store.RedisUrlLockStore

``REDIS_URL`` set (``make run-cluster``, Kubernetes): an :class:`AtomicRedisLockStore`
there; unset (``make run``, one Rasa server): Rasa's in-memory lock store.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

WAIT_S = 0.05  # how often a waiting message looks whether its turn has come
# A ticket expires after this: a Rasa server killed in the middle of a turn blocks its conversation
# this long (Rasa's default is 60 s). A turn takes well under a second; the action server's calls
# to the service time out after a few seconds (actions/handoff_client.py).
LOCK_LIFETIME_S = 20.0
GUARD_TIMEOUT_S = 5.0  # a guard left by a server that died is freed after this
GUARD_WAIT_S = 5.0  # longest wait for another server's read-change-write
REDIS_URL_ENV = "REDIS_URL"
KEY_PREFIX = "opastin"  # alphanumeric, as Rasa requires: keys are opastin:lock:<conversation>

T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):  # type: ignore[misc]  # Rasa ships no types
    """``RedisLockStore`` whose ticket queues are changed atomically across Rasa servers."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)

    @classmethod
    def from_url(cls, url: str) -> AtomicRedisLockStore:
        """The store at a ``redis://`` or ``rediss://`` URL (``…/db``, user and password optional)."""
        return cls(EndpointConfig(**redis_options(url)))

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME_S) -> int:
        """A ticket no other server can be given too."""
        issue = super().issue_ticket
        return int(self._guarded(conversation_id, lambda: issue(conversation_id, lock_lifetime)))

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets without losing one issued meanwhile."""
        update = super().update_lock
        self._guarded(conversation_id, lambda: update(conversation_id))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give the turn on, and delete the queue only when nobody has joined it meanwhile."""
        clean = super().cleanup
        self._guarded(conversation_id, lambda: clean(conversation_id, ticket_number))

    def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME_S,
        wait_time_in_seconds: float = WAIT_S,
    ) -> AbstractAsyncContextManager[TicketLock]:
        """Rasa's ticket lock, polled every :data:`WAIT_S` seconds, held at most :data:`LOCK_LIFETIME_S`."""
        context: AbstractAsyncContextManager[TicketLock] = super().lock(
            conversation_id, lock_lifetime, wait_time_in_seconds
        )
        return context

    def _guarded(self, conversation_id: str, change: Callable[[], T]) -> T:
        guard = self.red.lock(
            f"{self.key_prefix}{conversation_id}:guard",
            timeout=GUARD_TIMEOUT_S,
            blocking_timeout=GUARD_WAIT_S,
            sleep=0.005,
        )
        with guard:
            return change()


def redis_options(url: str) -> dict[str, Any]:
    """``RedisLockStore``'s options (as an endpoint's ``url`` and keyword arguments) from a Redis URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ValueError(f"{REDIS_URL_ENV} must be redis://host[:port][/db] or rediss://…")
    return {
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(parts.path.strip("/") or 0),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
        "key_prefix": KEY_PREFIX,
    }


class RedisUrlLockStore(LockStore):  # type: ignore[misc]  # Rasa ships no types
    """Rasa configures a lock store by its class: this one makes the store ``REDIS_URL`` asks for."""

    def __new__(cls, endpoint_config: EndpointConfig | None = None) -> LockStore:
        """An :class:`AtomicRedisLockStore` at ``REDIS_URL``, or Rasa's in-memory store without it."""
        url = (os.environ.get(REDIS_URL_ENV) or "").strip()
        return AtomicRedisLockStore.from_url(url) if url else InMemoryLockStore()
