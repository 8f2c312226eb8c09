"""The time Opastin's processes read: the system clock, or in development one started at a chosen moment.

``OPASTIN_CLOCK_START`` (an ISO 8601 moment with its UTC offset, e.g.
``2027-01-12T10:00:00+02:00``) starts the clock of the handoff service and the
action server there, and it runs on in real time from that moment. The
conversation runner uses it to replay conversations on a Tuesday morning or a
Saturday night; ``OPASTIN_ENV=production`` refuses it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from opastin.content import ContentError

Clock = Callable[[], datetime]
CLOCK_START_VARIABLE = "OPASTIN_CLOCK_START"


class ClockConfigError(ContentError):
    """``OPASTIN_CLOCK_START`` is malformed or set in production."""


def system_clock() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def started_clock(start: datetime) -> Clock:
    """A clock that reads ``start`` now and runs on in real time."""
    origin = time.monotonic()
    begin = start.astimezone(UTC)
    return lambda: begin + timedelta(seconds=time.monotonic() - origin)


def clock_from_environment(environ: Mapping[str, str] = os.environ) -> Clock:
    """The system clock, or the development clock ``OPASTIN_CLOCK_START`` asks for."""
    value = environ.get(CLOCK_START_VARIABLE, "").strip()
    if not value:
        return system_clock
    if environ.get("OPASTIN_ENV", "").strip().lower() == "production":
        raise ClockConfigError(f"{CLOCK_START_VARIABLE} is for development only; unset it in production")
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise ClockConfigError(f"{CLOCK_START_VARIABLE}={value!r} is not an ISO 8601 moment") from None
    if start.tzinfo is None:
        raise ClockConfigError(f"{CLOCK_START_VARIABLE}={value!r} needs its UTC offset, e.g. +02:00")
    return started_clock(start)
