"""Flood limits of the residents' sockets: per socket, and per address over all its sockets.

One address may be many residents (a library, a care home behind one NAT), so
its limits are generous; they stop one machine from creating thousands of
conversations or drowning the bot.

The per-address limits live in this process (:class:`AddressLimits`) or, when
``REDIS_URL`` is set, in Redis, one allowance over every replica
(:class:`SharedAddressLimits`); :func:`address_limits` chooses. In memory at
most :data:`MAX_ADDRESSES` addresses are tracked, the idlest forgotten first;
in Redis a bucket expires once it would be full again. Redis keys hold a
SHA-256 digest, never the address. While Redis fails, each replica falls back
to its own limits (:class:`SharedStore`): the chat stays up, less strictly limited.

Per-socket buckets (:class:`TokenBucket` per sid) always stay in memory: a
socket lives on one replica (sticky sessions at the load balancer).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# One socket: 20 messages at once, then 2 a second; 5 session requests at once, then one in 10 s.
SOCKET_MESSAGES = (20, 2.0)
SOCKET_SESSIONS = (5, 0.1)
# One address over all its sockets: 30 new conversations at once, then one every 3 s (20 a minute);
# 120 messages at once, then 10 a second.
ADDRESS_SESSIONS = (30, 1 / 3)
ADDRESS_MESSAGES = (120, 10.0)
MAX_ADDRESSES = 10_000
# A Redis command of a limit waits this long at most; after a failure Redis is left alone this long.
REDIS_TIMEOUT_S = 0.5
REDIS_RETRY_S = 5.0
KEY_PREFIX = "opastin:limits"

# One token bucket in Redis, the same arithmetic as TokenBucket.take. KEYS[1]: the bucket;
# ARGV: burst, tokens a second, now (s), expiry when idle (ms). Returns 1 when a token was taken.
# A replica whose clock is behind the bucket's last update adds nothing and never moves it back.
TAKE_TOKEN_SCRIPT = """
local burst, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
if now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate)
  updated = now
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', updated)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return taken
"""


class TokenBucket:
    """``burst`` events at once, then ``rate`` per second, in this process.

    The per-socket limits (the residents' and the desk's sockets) are these and
    need no Redis: a socket lives on one replica (sticky sessions).
    """

    def __init__(self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.rate, self.clock = burst, rate, clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class AddressLimiter(Protocol):
    """New conversations and messages per client address, however they are kept."""

    async def allow_new_session(self, address: str) -> bool:
        """Whether ``address`` may start one more conversation now (counts it)."""

    async def allow_message(self, address: str) -> bool:
        """Whether ``address`` may send one more message now (counts it)."""


class AddressLimits:
    """New conversations and messages per client address, in this process."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_addresses: int = MAX_ADDRESSES
    ) -> None:
        self.clock = clock
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[TokenBucket, TokenBucket]] = OrderedDict()

    def new_session(self, address: str) -> bool:
        """Whether ``address`` may start one more conversation now."""
        return self._of(address)[0].take()

    def message(self, address: str) -> bool:
        """Whether ``address`` may send one more message now."""
        return self._of(address)[1].take()

    async def allow_new_session(self, address: str) -> bool:
        """:meth:`new_session`, as :class:`AddressLimiter` asks."""
        return self.new_session(address)

    async def allow_message(self, address: str) -> bool:
        """:meth:`message`, as :class:`AddressLimiter` asks."""
        return self.message(address)

    def __len__(self) -> int:
        return len(self._buckets)

    def _of(self, address: str) -> tuple[TokenBucket, TokenBucket]:
        buckets = self._buckets.get(address)
        if buckets is None:
            buckets = (TokenBucket(*ADDRESS_SESSIONS, self.clock), TokenBucket(*ADDRESS_MESSAGES, self.clock))
            self._buckets[address] = buckets
            while len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
        return buckets


def redis_client(url: str, timeout_s: float = REDIS_TIMEOUT_S) -> Redis:
    """An asyncio Redis client for shared limits, with short timeouts (connections open on first use)."""
    return Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)


def pseudonym(*parts: str) -> str:
    """A Redis key's part for personal data (an address, a username): its SHA-256, never the data."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class SharedStore:
    """Runs a shared limit's Redis commands; while Redis fails, the replica's own limit answers.

    The first failure is logged as a warning (the limit's name and the error's
    type only), then Redis is left alone for :data:`REDIS_RETRY_S` seconds, so
    an outage costs no timeout per message; its return is logged too.
    """

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.clock = name, clock
        self._retry_at: float | None = None  # set while Redis is failing

    async def run(self, shared: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]) -> T:
        """``shared()`` if Redis answers, else ``local()``."""
        if self._retry_at is not None and self.clock() < self._retry_at:
            return await local()
        try:
            result = await shared()
        except (RedisError, OSError) as error:
            if self._retry_at is None:
                logger.warning(
                    "%s: Redis unavailable (%s); each replica limits on its own",
                    self.name,
                    type(error).__name__,
                )
            self._retry_at = self.clock() + REDIS_RETRY_S
            return await local()
        if self._retry_at is not None:
            logger.info("%s: Redis answers again; the limits are shared", self.name)
            self._retry_at = None
        return result


class SharedAddressLimits:
    """The per-address limits in Redis: one token bucket per address and kind over every replica."""

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self._take_token = redis.register_script(TAKE_TOKEN_SCRIPT)
        self._clock = clock  # wall time: the buckets are shared by replicas on other machines
        self._store = SharedStore("address limits")
        self._local = AddressLimits()

    async def allow_new_session(self, address: str) -> bool:
        """Whether ``address`` may start one more conversation now, over every replica."""
        shared = partial(self._take, "sessions", ADDRESS_SESSIONS, address)
        return await self._store.run(shared, partial(self._local.allow_new_session, address))

    async def allow_message(self, address: str) -> bool:
        """Whether ``address`` may send one more message now, over every replica."""
        shared = partial(self._take, "messages", ADDRESS_MESSAGES, address)
        return await self._store.run(shared, partial(self._local.allow_message, address))

    async def _take(self, kind: str, limit: tuple[int, float], address: str) -> bool:
        burst, rate = limit
        idle_expiry_ms = math.ceil(burst / rate * 1000)  # by then the bucket is full again
        key = f"{KEY_PREFIX}:{kind}:{pseudonym(address)}"
        taken = await self._take_token(keys=[key], args=[burst, rate, self._clock(), idle_expiry_ms])
        return bool(taken)


def address_limits(redis_url: str | None) -> AddressLimiter:
    """The per-address limits: shared through Redis when ``REDIS_URL`` is set, else this process's."""
    if redis_url:
        return SharedAddressLimits(redis_client(redis_url))
    return AddressLimits()
