"""The period and team the statistics page shows, read from its GET form.

The form's fields (``period``, ``day``, ``from``, ``to``, ``team``) are kept as
typed (:class:`Choice`), so a mistake is shown next to what was written.
:func:`period_of` turns them into a :class:`Period` of whole Helsinki days, or
raises :class:`InvalidChoice` naming the Finnish text that explains what to fix.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from handoff.errors import InvalidInput

PERIODS = ("day", "week", "month", "custom")
DEFAULT_PERIOD = "month"
MAX_DAYS = 366
MAX_FIELD_CHARS = 64
YEARS = range(2000, 2101)  # what a date may be in: keeps a neighbouring period within the calendar
_FINNISH_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class InvalidChoice(InvalidInput):
    """The form asks for a period or team that cannot be shown; ``key`` names the Finnish text."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(f"statistics form: {key}")
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Choice:
    """What the form asked for, as typed (empty: not given)."""

    period: str = DEFAULT_PERIOD
    day: str = ""
    first: str = ""
    last: str = ""
    team: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Choice:
        """The form's fields from a query string; a missing period is :data:`DEFAULT_PERIOD`."""

        def field(name: str) -> str:
            return str(query.get(name, "")).strip()[:MAX_FIELD_CHARS]

        return cls(field("period") or DEFAULT_PERIOD, field("day"), field("from"), field("to"), field("team"))


@dataclass(frozen=True)
class Period:
    """The days from ``first`` to ``last``, both included; ``kind`` is one of :data:`PERIODS`."""

    kind: str
    first: date
    last: date

    @property
    def days(self) -> int:
        """How many days the period has."""
        return (self.last - self.first).days + 1

    def previous(self) -> Period | None:
        """The day, week or month before this one; ``None`` for a custom range."""
        return None if self.kind == "custom" else around(self.kind, self.first - timedelta(days=1))

    def following(self) -> Period | None:
        """The day, week or month after this one; ``None`` for a custom range."""
        return None if self.kind == "custom" else around(self.kind, self.last + timedelta(days=1))

    def query(self, team: str | None) -> str:
        """This period and team as the form's query string (for links)."""
        if self.kind == "custom":
            fields = {"period": "custom", "from": self.first.isoformat(), "to": self.last.isoformat()}
        else:
            fields = {"period": self.kind, "day": self.first.isoformat()}
        return urlencode({**fields, "team": team or ""})


def around(kind: str, day: date) -> Period:
    """The day, the week (Monday to Sunday) or the calendar month of ``day``."""
    if kind == "day":
        return Period(kind, day, day)
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=6))
    if kind == "month":
        return month_of(day.year, day.month)
    raise InvalidChoice("desk.stats.errors.period")


def month_of(year: int, month: int) -> Period:
    """The calendar month ``month`` of ``year``."""
    return Period("month", date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def read_date(text: str) -> date:
    """A date written ``2026-03-10`` (as a date field sends it) or ``10.3.2026``."""
    found = _FINNISH_DATE.match(text)
    try:
        if found:
            day, month, year = (int(part) for part in found.groups())
            read = date(year, month, day)
        else:
            read = date.fromisoformat(text)
    except ValueError:
        raise InvalidChoice("desk.stats.errors.date") from None
    if read.year not in YEARS:
        raise InvalidChoice("desk.stats.errors.date")
    return read


def read_month(text: str, today: date) -> Period:
    """The calendar month written ``2026-03``; the month of ``today`` when empty."""
    if not text:
        return month_of(today.year, today.month)
    found = _MONTH.match(text.strip())
    if found is None or int(found.group(1)) not in YEARS or not 1 <= int(found.group(2)) <= 12:
        raise InvalidChoice("desk.stats.errors.month")
    return month_of(int(found.group(1)), int(found.group(2)))


def period_of(choice: Choice, today: date) -> Period:
    """The period the form asks for: around its day (``today`` when empty), or its custom range."""
    if choice.period not in PERIODS:
        raise InvalidChoice("desk.stats.errors.period")
    if choice.period != "custom":
        return around(choice.period, read_date(choice.day) if choice.day else today)
    if not choice.first or not choice.last:
        raise InvalidChoice("desk.stats.errors.custom_missing")
    period = Period("custom", read_date(choice.first), read_date(choice.last))
    if period.first > period.last:
        raise InvalidChoice("desk.stats.errors.order")
    if period.days > MAX_DAYS:
        raise InvalidChoice("desk.stats.errors.too_long", days=MAX_DAYS)
    return period


def team_of(choice: Choice, team_ids: Collection[str]) -> str | None:
    """The team the form asks for, ``None`` for all; a team not in ``team_ids`` is refused."""
    if not choice.team:
        return None
    if choice.team not in team_ids:
        raise InvalidChoice("desk.stats.errors.team")
    return choice.team
