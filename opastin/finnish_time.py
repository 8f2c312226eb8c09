"""Times, waits, queue lengths and reply promises in natural Finnish, for texts residents read.

Pure functions: every one takes the moment it speaks about and, where the
wording depends on it, ``now`` (aware datetimes; read in Helsinki time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

HELSINKI = ZoneInfo("Europe/Helsinki")
# Essive weekday names: "maanantaina" = "on Monday".
WEEKDAYS = (
    "maanantaina",
    "tiistaina",
    "keskiviikkona",
    "torstaina",
    "perjantaina",
    "lauantaina",
    "sunnuntaina",
)
EN_DASH = "–"
WEEKDAY_SHORT = ("ma", "ti", "ke", "to", "pe", "la", "su")


def clock_time(moment: datetime) -> str:
    """``12`` for 12:00 and ``8.30`` for 8:30 (Finnish style, Helsinki time)."""
    local = moment.astimezone(HELSINKI)
    return minutes_phrase(local.hour * 60 + local.minute)


def minutes_phrase(minutes: int) -> str:
    """``8`` for 480 minutes after midnight and ``8.30`` for 510 (Finnish style)."""
    hour, minute = divmod(minutes, 60)
    return f"{hour}" if minute == 0 else f"{hour}.{minute:02d}"


def weekly_hours_phrase(weekly: Sequence[tuple[int, int] | None]) -> str:
    """Weekly hours as residents read them: ``ma–pe klo 8–15``, ``ma ja to klo 12–14``.

    ``weekly`` holds seven days from Monday: ``(start, end)`` in minutes after
    midnight, or ``None`` for a closed day. Days with the same hours are told
    together, three or more consecutive ones as a range.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for day, hours in enumerate(weekly):
        if hours is not None:
            groups.setdefault(hours, []).append(day)
    if not groups:
        return "ei säännöllisiä aukioloaikoja"
    parts = [
        f"{_days_phrase(days)} klo {minutes_phrase(start)}{EN_DASH}{minutes_phrase(end)}"
        for (start, end), days in groups.items()
    ]
    return _and_list(parts)


def _days_phrase(days: list[int]) -> str:
    """``ma–pe`` for a run of three or more days, ``ma ja to`` for separate ones."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    names: list[str] = []
    for run in runs:
        if len(run) >= 3:
            names.append(f"{WEEKDAY_SHORT[run[0]]}{EN_DASH}{WEEKDAY_SHORT[run[-1]]}")
        else:
            names.extend(WEEKDAY_SHORT[day] for day in run)
    return _and_list(names)


def _and_list(items: list[str]) -> str:
    """``a``, ``a ja b``, ``a, b ja c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " ja " + items[-1]


def day_phrase(moment: datetime, now: datetime) -> str:
    """``tänään``, ``huomenna``, ``maanantaina`` (within a week) or ``maanantaina 6.4.``."""
    day = moment.astimezone(HELSINKI).date()
    today = now.astimezone(HELSINKI).date()
    if day == today:
        return "tänään"
    if day == today + timedelta(days=1):
        return "huomenna"
    weekday = WEEKDAYS[day.weekday()]
    if day < today + timedelta(days=7):
        return weekday
    return f"{weekday} {day.day}.{day.month}."


def opening_phrase(opens: datetime, closes: datetime | None, now: datetime) -> str:
    """``maanantaina klo 12–14``, ``tänään klo 8–15``; ``huomenna klo 8 alkaen`` without a closing time.

    An opening that closes on a later day (over midnight) names the closing day too.
    """
    start = f"{day_phrase(opens, now)} klo {clock_time(opens)}"
    if closes is None:
        return f"{start} alkaen"
    opens_day = opens.astimezone(HELSINKI).date()
    closes_local = closes.astimezone(HELSINKI)
    if closes_local.date() == opens_day:
        return f"{start}{EN_DASH}{clock_time(closes)}"
    if closes_local.date() == opens_day + timedelta(days=1) and clock_time(closes) == "0":
        return f"{start}{EN_DASH}24"
    return f"{start} – {day_phrase(closes, now)} klo {clock_time(closes)}"


def wait_phrase(seconds: int | None) -> str:
    """The estimated wait: ``noin 6 minuuttia``, ``alle minuutin``, ``noin tunnin ja 10 minuuttia``."""
    if seconds is None:
        return "ei tiedossa"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "alle minuutin"
    if minutes < 60:
        return "noin minuutin" if minutes == 1 else f"noin {minutes} minuuttia"
    hours, rest = divmod(minutes, 60)
    hour_text = "tunnin" if hours == 1 else f"{hours} tuntia"
    return f"noin {hour_text}" if rest == 0 else f"noin {hour_text} ja {rest} minuuttia"


def queue_phrase(queue_length: int) -> str:
    """``Jonossa ei ole ketään``, ``Jonossa on 1 asiakas``, ``Jonossa on 2 asiakasta``."""
    if queue_length <= 0:
        return "Jonossa ei ole ketään"
    return "Jonossa on 1 asiakas" if queue_length == 1 else f"Jonossa on {queue_length} asiakasta"


def until_phrase(closes: datetime, now: datetime) -> str:
    """``klo 15 asti`` today, ``keskiyöhön asti`` tonight, else ``torstaina klo 15 asti``.

    A closing at midnight belongs to the day before: ``lauantaina 5.12. klo 24 asti``.
    """
    local = closes.astimezone(HELSINKI)
    today = now.astimezone(HELSINKI).date()
    if clock_time(closes) == "0":
        if local.date() == today + timedelta(days=1):
            return "keskiyöhön asti"
        return f"{day_phrase(closes - timedelta(days=1), now)} klo 24 asti"
    if local.date() == today:
        return f"klo {clock_time(closes)} asti"
    return f"{day_phrase(closes, now)} klo {clock_time(closes)} asti"


GENITIVE_NUMBERS = {
    1: "yhden",
    2: "kahden",
    3: "kolmen",
    4: "neljän",
    5: "viiden",
    6: "kuuden",
    7: "seitsemän",
    8: "kahdeksan",
    9: "yhdeksän",
    10: "kymmenen",
}


def reply_promise(workdays: int) -> str:
    """Finnish promise of a reply, e.g. ``"Otamme sinuun yhteyttä kahden arkipäivän kuluessa."``."""
    amount = GENITIVE_NUMBERS.get(workdays, str(workdays))
    return f"Otamme sinuun yhteyttä {amount} arkipäivän kuluessa."
