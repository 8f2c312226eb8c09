"""Natural Finnish times, waits and queue lengths."""

from __future__ import annotations

from datetime import datetime

import pytest

from opastin.finnish_time import HELSINKI, opening_phrase, queue_phrase, until_phrase, wait_phrase


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=HELSINKI)


@pytest.mark.parametrize(
    ("opens", "closes", "now", "expected"),
    [
        (at(3, 10, 12), at(3, 10, 14), at(3, 10, 9), "tänään klo 12–14"),
        (at(3, 11, 8), at(3, 11, 15), at(3, 10, 16), "huomenna klo 8–15"),
        # Friday evening → Monday (weekend closed).
        (at(3, 16, 12), at(3, 16, 14), at(3, 13, 18), "maanantaina klo 12–14"),
        # Easter: Good Friday to Easter Monday closed → Tuesday.
        (at(4, 7, 12), at(4, 7, 14), at(4, 3, 12), "tiistaina klo 12–14"),
        # A week or more ahead gets the date.
        (at(7, 6, 9), at(7, 6, 13, 30), at(6, 26, 10), "maanantaina 6.7. klo 9–13.30"),
        # Summer time starts on Sunday 29 March 2026: Monday's hours stay as written in local time.
        (datetime(2026, 3, 30, 9, 0, tzinfo=HELSINKI), at(3, 30, 15), at(3, 28, 12), "maanantaina klo 9–15"),
        # Over midnight.
        (at(3, 10, 20), at(3, 11, 0), at(3, 10, 9), "tänään klo 20–24"),
        (at(3, 10, 20), at(3, 11, 2), at(3, 10, 9), "tänään klo 20 – huomenna klo 2"),
        (at(3, 11, 8), None, at(3, 10, 16), "huomenna klo 8 alkaen"),
    ],
)
def test_opening_phrase(opens, closes, now, expected):
    assert opening_phrase(opens, closes, now) == expected


def test_opening_phrase_reads_utc_times_in_helsinki():
    opens = datetime.fromisoformat("2026-03-30T09:00:00+00:00")  # 12:00 summer time
    closes = datetime.fromisoformat("2026-03-30T11:00:00+00:00")
    assert opening_phrase(opens, closes, at(3, 27, 15)) == "maanantaina klo 12–14"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, "ei tiedossa"),
        (20, "alle minuutin"),
        (60, "noin minuutin"),
        (360, "noin 6 minuuttia"),
        (3600, "noin tunnin"),
        (4200, "noin tunnin ja 10 minuuttia"),
        (7200, "noin 2 tuntia"),
    ],
)
def test_wait_phrase(seconds, expected):
    assert wait_phrase(seconds) == expected


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, "Jonossa ei ole ketään"), (1, "Jonossa on 1 asiakas"), (2, "Jonossa on 2 asiakasta")],
)
def test_queue_phrase(length, expected):
    assert queue_phrase(length) == expected


@pytest.mark.parametrize(
    ("closes", "expected"),
    [
        (at(3, 10, 15), "klo 15 asti"),
        (at(3, 11, 0), "keskiyöhön asti"),
        (at(3, 12, 15), "torstaina klo 15 asti"),
    ],
)
def test_until_phrase(closes, expected):
    assert until_phrase(closes, at(3, 10, 9)) == expected
