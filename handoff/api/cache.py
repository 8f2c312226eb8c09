"""A short-lived cache of the rendered public status list.

The resident page polls ``GET /api/public/teams``; computing it costs a few
database queries and an opening-hours search per team. The rendered body is
reused for ``HANDOFF_PUBLIC_CACHE_S`` seconds of the service clock (default
2 s; 0 disables), and dropped at once when this process changes a queue. In
a multi-replica setup another replica's change shows within that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta


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
