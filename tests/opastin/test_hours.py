"""Opening hours: holidays, eves, exceptions, weekends, DST and midnight."""

from datetime import UTC, date, datetime, timedelta

import pytest

from opastin.hours import (
    HELSINKI,
    DayHours,
    Schedule,
    closes_at,
    holiday_name,
    is_open,
    next_opening,
    opening_status,
    workdays_after,
)

OFFICE = DayHours.parse("08:00-15:00")
WEEKDAYS_8_15 = Schedule(weekly=(OFFICE,) * 5 + (None, None))
WHOLE_DAY = DayHours.parse("00:00-24:00")


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=HELSINKI, fold=fold)


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time between two aware datetimes (same-zone subtraction would ignore DST)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def with_exceptions(**days: DayHours | None) -> Schedule:
    exceptions = {date.fromisoformat(key[1:].replace("_", "-")): value for key, value in days.items()}
    return Schedule(weekly=WEEKDAYS_8_15.weekly, exceptions=exceptions)


def test_open_on_an_ordinary_weekday() -> None:
    status = opening_status(WEEKDAYS_8_15, at(2026, 3, 10, 12))
    assert status.open
    assert status.opens_at == at(2026, 3, 10, 8)
    assert status.closes_at == at(2026, 3, 10, 15)
    assert status.closes_at.utcoffset() == timedelta(hours=2)


def test_just_before_and_at_opening() -> None:
    assert not is_open(WEEKDAYS_8_15, at(2026, 3, 10, 7, 59, 59))
    assert next_opening(WEEKDAYS_8_15, at(2026, 3, 10, 7, 59, 59)) == at(2026, 3, 10, 8)
    assert is_open(WEEKDAYS_8_15, at(2026, 3, 10, 8))


def test_just_before_and_at_closing() -> None:
    assert is_open(WEEKDAYS_8_15, at(2026, 3, 10, 14, 59, 59))
    assert closes_at(WEEKDAYS_8_15, at(2026, 3, 10, 14, 59, 59)) == at(2026, 3, 10, 15)
    status = opening_status(WEEKDAYS_8_15, at(2026, 3, 10, 15))
    assert not status.open
    assert status.closes_at is None
    assert status.opens_at == at(2026, 3, 11, 8)


def test_now_in_utc_is_read_in_helsinki_time() -> None:
    assert is_open(WEEKDAYS_8_15, datetime(2026, 3, 10, 6, 0, tzinfo=UTC))  # 08:00 in Helsinki
    assert not is_open(WEEKDAYS_8_15, datetime(2026, 3, 10, 5, 59, tzinfo=UTC))


def test_weekend_is_closed_and_next_opening_is_monday() -> None:
    assert not is_open(WEEKDAYS_8_15, at(2026, 3, 14, 12))
    assert next_opening(WEEKDAYS_8_15, at(2026, 3, 13, 15)) == at(2026, 3, 16, 8)
    assert next_opening(WEEKDAYS_8_15, at(2026, 3, 15, 23, 59)) == at(2026, 3, 16, 8)


def test_public_holiday_is_closed() -> None:
    assert holiday_name(date(2026, 1, 6)) == "Loppiainen"
    assert not is_open(WEEKDAYS_8_15, at(2026, 1, 6, 12))
    assert next_opening(WEEKDAYS_8_15, at(2026, 1, 6, 12)) == at(2026, 1, 7, 8)


def test_christmas_eve_is_closed() -> None:
    assert holiday_name(date(2025, 12, 24)) == "Jouluaatto"
    assert not is_open(WEEKDAYS_8_15, at(2025, 12, 24, 10))  # a Wednesday
    assert next_opening(WEEKDAYS_8_15, at(2025, 12, 23, 16)) == at(2025, 12, 29, 8)


@pytest.mark.parametrize("eve", [date(2026, 6, 19), date(2027, 6, 25), date(2030, 6, 21)])
def test_midsummer_eve_is_closed(eve: date) -> None:
    assert eve.weekday() == 4
    assert holiday_name(eve) == "Juhannusaatto"
    assert not is_open(WEEKDAYS_8_15, at(eve.year, eve.month, eve.day, 10))


def test_exception_closed_day() -> None:
    schedule = with_exceptions(d2026_03_11=None)
    assert not is_open(schedule, at(2026, 3, 11, 10))
    assert next_opening(schedule, at(2026, 3, 10, 15)) == at(2026, 3, 12, 8)


def test_exception_shorter_day() -> None:
    schedule = with_exceptions(d2026_03_11=DayHours.parse("08:00-12:00"))
    assert closes_at(schedule, at(2026, 3, 11, 11)) == at(2026, 3, 11, 12)
    assert not is_open(schedule, at(2026, 3, 11, 12, 30))


def test_exception_wins_over_a_holiday() -> None:
    schedule = with_exceptions(d2026_01_06=DayHours.parse("10:00-12:00"))
    assert is_open(schedule, at(2026, 1, 6, 11))


def test_next_opening_over_easter() -> None:
    # Good Friday 3 April, Easter Monday 6 April 2026.
    assert next_opening(WEEKDAYS_8_15, at(2026, 4, 2, 15)) == at(2026, 4, 7, 8)
    assert not is_open(WEEKDAYS_8_15, at(2026, 4, 6, 12))


def test_dst_spring_forward_next_opening_has_summer_offset() -> None:
    # Clocks go from 03:00 to 04:00 on Sunday 29 March 2026.
    opening = next_opening(WEEKDAYS_8_15, at(2026, 3, 27, 15))
    assert opening == at(2026, 3, 30, 8)
    assert opening.utcoffset() == timedelta(hours=3)
    assert opening.astimezone(UTC).hour == 5


def test_dst_spring_forward_day_is_23_hours() -> None:
    schedule = with_exceptions(d2026_03_29=WHOLE_DAY)
    status = opening_status(schedule, at(2026, 3, 29, 12))
    assert status.open
    assert elapsed(status.opens_at, status.closes_at) == timedelta(hours=23)
    night = with_exceptions(d2026_03_29=DayHours.parse("02:00-05:00"))
    start, end = at(2026, 3, 29, 2), closes_at(night, at(2026, 3, 29, 2, 30))
    assert elapsed(start, end) == timedelta(hours=2)
    assert is_open(night, datetime(2026, 3, 29, 1, 30, tzinfo=UTC))  # 04:30 summer time


def test_dst_fall_back_day_is_25_hours() -> None:
    # Clocks go from 04:00 back to 03:00 on Sunday 25 October 2026.
    schedule = with_exceptions(d2026_10_25=WHOLE_DAY)
    status = opening_status(schedule, at(2026, 10, 25, 12))
    assert elapsed(status.opens_at, status.closes_at) == timedelta(hours=25)
    night = with_exceptions(d2026_10_25=DayHours.parse("03:00-05:00"))
    assert is_open(night, at(2026, 10, 25, 3, 30, fold=1))  # the second 03:30
    assert elapsed(at(2026, 10, 25, 3), closes_at(night, at(2026, 10, 25, 3, 30))) == timedelta(hours=3)
    assert next_opening(WEEKDAYS_8_15, at(2026, 10, 23, 15)).utcoffset() == timedelta(hours=2)


def test_opening_continuing_over_midnight_is_one_opening() -> None:
    evening, night = DayHours.parse("20:00-24:00"), DayHours.parse("00:00-02:00")
    schedule = Schedule(weekly=(evening, night, None, None, None, None, None))
    assert next_opening(schedule, at(2026, 3, 9, 19)) == at(2026, 3, 9, 20)
    assert closes_at(schedule, at(2026, 3, 9, 23)) == at(2026, 3, 10, 2)
    assert is_open(schedule, at(2026, 3, 10, 0))
    assert next_opening(schedule, at(2026, 3, 9, 23)) == at(2026, 3, 16, 20)


def test_round_the_clock_weekdays_close_at_saturday_midnight() -> None:
    schedule = Schedule(weekly=(WHOLE_DAY,) * 5 + (None, None))
    assert closes_at(schedule, at(2026, 3, 9, 23, 59)) == at(2026, 3, 14, 0)
    assert next_opening(schedule, at(2026, 3, 14, 12)) == at(2026, 3, 16, 0)


def test_no_opening_within_the_search_window() -> None:
    closed = Schedule(weekly=(None,) * 7)
    assert opening_status(closed, at(2026, 3, 10, 12)) == opening_status(closed, at(2026, 3, 10, 13))
    assert next_opening(closed, at(2026, 3, 10, 12)) is None
    far = Schedule(weekly=(None,) * 7, exceptions={date(2026, 5, 1): OFFICE})
    assert next_opening(far, at(2026, 3, 10, 12)) is None
    assert next_opening(far, at(2026, 3, 10, 12), search_days=60) == at(2026, 5, 1, 8)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        is_open(WEEKDAYS_8_15, datetime(2026, 3, 10, 12))


@pytest.mark.parametrize("text", ["8-15", "08:00", "15:00-08:00", "08:00-24:30", "08:60-09:00", "x"])
def test_bad_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        DayHours.parse(text)


def test_hours_round_trip() -> None:
    assert str(DayHours.parse("08:00 – 24:00")) == "08:00-24:00"


def test_workdays_after_skip_weekends_and_holidays() -> None:
    assert workdays_after(date(2026, 3, 10), 2) == date(2026, 3, 12)
    assert workdays_after(date(2026, 3, 12), 2) == date(2026, 3, 16)
    assert workdays_after(date(2026, 4, 2), 2) == date(2026, 4, 8)
