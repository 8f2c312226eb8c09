"""Opening hours in Europe/Helsinki time.

A pure module: every function takes the moment it reasons about (``now``, an
aware datetime) or a date explicitly, so that callers can use any clock.

Rules, in order of precedence for one calendar day:

1. a dated exception of the team (closed, or other hours);
2. Finnish public holidays (the ``holidays`` package) plus Christmas Eve and
   Midsummer Eve, which are closed;
3. the team's weekly hours.

Hours are wall-clock times of the day in Helsinki. ``24:00`` means the next
midnight. A day has one opening interval, start inclusive and end exclusive.
Datetimes are compared in UTC, so the days on which daylight saving time
starts (23 hours) or ends (25 hours) need no special handling; a wall time that
does not exist on the spring-forward day (03:00–03:59) is read with the winter
offset, i.e. one hour later in summer time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from opastin.finnish_time import HELSINKI as HELSINKI  # re-exported for the handoff service

MINUTES_PER_DAY = 24 * 60
SEARCH_DAYS = 30
CHRISTMAS_EVE = "Jouluaatto"
MIDSUMMER_EVE = "Juhannusaatto"


@dataclass(frozen=True)
class DayHours:
    """One opening interval of a day, in minutes after local midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError("opening must be before closing, within 00:00–24:00")

    @classmethod
    def parse(cls, text: str) -> DayHours:
        """Parse ``"HH:MM-HH:MM"`` (``24:00`` allowed as the end)."""
        try:
            start_text, end_text = (part.strip() for part in text.replace("–", "-").split("-"))
            return cls(_parse_minutes(start_text), _parse_minutes(end_text))
        except ValueError as error:
            raise ValueError(f"{text!r} is not of the form 'HH:MM-HH:MM' ({error})") from None

    def __str__(self) -> str:
        return f"{_format_minutes(self.start)}-{_format_minutes(self.end)}"


def _parse_minutes(text: str) -> int:
    """Minutes after midnight of ``HH:MM``; ``24:00`` is 1440."""
    hours_text, minutes_text = text.split(":")
    if len(minutes_text) != 2 or not hours_text.isdigit() or not minutes_text.isdigit():
        raise ValueError(f"bad time {text!r}")
    hours, minutes = int(hours_text), int(minutes_text)
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"bad time {text!r}")
    return hours * 60 + minutes


def _format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Schedule:
    """Weekly hours (index 0 = Monday; ``None`` = closed) and dated exceptions."""

    weekly: tuple[DayHours | None, ...]
    exceptions: Mapping[date, DayHours | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly hours need exactly seven days")


@dataclass(frozen=True)
class OpeningStatus:
    """Whether a team is open at a moment, and its relevant opening/closing times.

    ``opens_at`` is today's opening when open, otherwise the next opening
    (``None`` if there is none within the search window). ``closes_at`` is set
    only when open. Both are in Helsinki time.
    """

    open: bool
    opens_at: datetime | None
    closes_at: datetime | None


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> Mapping[date, str]:
    """Finnish public holidays of ``year`` plus Christmas Eve and Midsummer Eve."""
    days = dict(holidays.country_holidays("FI", years=year, language="fi"))
    days[date(year, 12, 24)] = CHRISTMAS_EVE
    midsummer_eve = next(date(year, 6, day) for day in range(19, 26) if date(year, 6, day).weekday() == 4)
    days[midsummer_eve] = MIDSUMMER_EVE
    return days


def holiday_name(day: date) -> str | None:
    """Finnish name of the holiday on ``day``, or ``None`` for an ordinary day."""
    return _holidays_of(day.year).get(day)


def is_workday(day: date) -> bool:
    """True for Monday–Friday that is not a holiday (or Christmas/Midsummer Eve)."""
    return day.weekday() < 5 and holiday_name(day) is None


def workdays_after(day: date, count: int) -> date:
    """The date ``count`` workdays after ``day`` (``day`` itself not counted)."""
    current = day
    remaining = count
    while remaining > 0:
        current += timedelta(days=1)
        if is_workday(current):
            remaining -= 1
    return current


def hours_on(schedule: Schedule, day: date) -> DayHours | None:
    """Opening hours on a calendar day after exceptions and holidays, or ``None``."""
    if day in schedule.exceptions:
        return schedule.exceptions[day]
    if holiday_name(day) is not None:
        return None
    return schedule.weekly[day.weekday()]


def _wall_clock(day: date, minutes: int) -> datetime:
    """Aware UTC datetime of ``minutes`` after midnight of ``day`` in Helsinki."""
    if minutes == MINUTES_PER_DAY:
        day, minutes = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=HELSINKI)
    return local.astimezone(UTC)


def interval_on(schedule: Schedule, day: date) -> tuple[datetime, datetime] | None:
    """Opening interval ``[start, end)`` on ``day`` as aware UTC datetimes."""
    hours = hours_on(schedule, day)
    if hours is None:
        return None
    return _wall_clock(day, hours.start), _wall_clock(day, hours.end)


def _intervals_from(schedule: Schedule, day: date, days: int) -> Iterator[tuple[datetime, datetime]]:
    """Opening intervals of ``days`` consecutive days from ``day``, in order."""
    for offset in range(days):
        interval = interval_on(schedule, day + timedelta(days=offset))
        if interval is not None:
            yield interval


def _local_date(now: datetime) -> date:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(HELSINKI).date()


def is_open(schedule: Schedule, now: datetime) -> bool:
    """True when ``now`` falls inside today's opening interval."""
    interval = interval_on(schedule, _local_date(now))
    return interval is not None and interval[0] <= now < interval[1]


def closes_at(schedule: Schedule, now: datetime, search_days: int = SEARCH_DAYS) -> datetime | None:
    """When the team closes, if open at ``now``; otherwise ``None``.

    Intervals that continue without a gap over midnight (e.g. ``00:00-24:00``
    on consecutive days) count as one opening.
    """
    if not is_open(schedule, now):
        return None
    end: datetime | None = None
    for start, interval_end in _intervals_from(schedule, _local_date(now), search_days):
        if end is not None and start != end:
            break
        end = interval_end
    assert end is not None
    return end.astimezone(HELSINKI)


def next_opening(schedule: Schedule, now: datetime, search_days: int = SEARCH_DAYS) -> datetime | None:
    """Start of the next opening after ``now`` within ``search_days`` days, or ``None``.

    A start that merely continues the previous interval (no gap) is not an
    opening.
    """
    previous_end: datetime | None = None
    for start, end in _intervals_from(schedule, _local_date(now), search_days + 1):
        if start > now and start != previous_end:
            return start.astimezone(HELSINKI)
        previous_end = end
    return None


def opening_status(schedule: Schedule, now: datetime, search_days: int = SEARCH_DAYS) -> OpeningStatus:
    """Open/closed at ``now`` with today's opening and the closing, or the next opening."""
    today = interval_on(schedule, _local_date(now))
    if today is not None and today[0] <= now < today[1]:
        return OpeningStatus(True, today[0].astimezone(HELSINKI), closes_at(schedule, now, search_days))
    return OpeningStatus(False, next_opening(schedule, now, search_days), None)
