"""Flood limits of the residents' sockets: per socket, and per address over all its sockets.

One address may be many residents (a library, a care home behind one NAT), so
its limits are generous; they stop one machine from creating thousands of
conversations or drowning the bot. Memory stays bounded: at most
:data:`MAX_ADDRESSES` addresses are tracked, the idlest forgotten first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

# One socket: 20 messages at once, then 2 a second; 5 session requests at once, then one in 10 s.
SOCKET_MESSAGES = (20, 2.0)
SOCKET_SESSIONS = (5, 0.1)
# One address over all its sockets: 30 new conversations at once, then one every 3 s (20 a minute);
# 120 messages at once, then 10 a second.
ADDRESS_SESSIONS = (30, 1 / 3)
ADDRESS_MESSAGES = (120, 10.0)
MAX_ADDRESSES = 10_000


class TokenBucket:
    """``burst`` events at once, then ``rate`` per second."""

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


class AddressLimits:
    """New conversations and messages per client address."""

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
