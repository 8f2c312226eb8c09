"""Times, waits, queue lengths and reply promises in natural Finnish, for texts residents read.

Pure functions: every one takes the moment it speaks about and, where the
wording depends on it, ``now`` (aware datetimes; read in Helsinki time).
"""

from __future__ import annotations

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


def clock_time(moment: datetime) -> str:
    """``12`` for 12:00 and ``8.30`` for 8:30 (Finnish style, Helsinki time)."""
    local = moment.astimezone(HELSINKI)
    return f"{local.hour}" if local.minute == 0 else f"{local.hour}.{local.minute:02d}"


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
