"""The statistics page's periods: days, Monday-to-Sunday weeks, calendar months and checked ranges."""

from __future__ import annotations

from datetime import date

import pytest

from handoff.desk.periods import Choice, InvalidChoice, Period, period_of, read_date, read_month, team_of

TODAY = date(2026, 3, 10)  # a Tuesday


def test_a_day_week_or_month_is_the_one_its_day_falls_in() -> None:
    assert period_of(Choice("day", "2026-03-01"), TODAY) == Period("day", date(2026, 3, 1), date(2026, 3, 1))
    assert period_of(Choice("week"), TODAY) == Period("week", date(2026, 3, 9), date(2026, 3, 15))
    assert period_of(Choice("week", "2026-03-15"), TODAY).first == date(2026, 3, 9)  # Sunday
    assert period_of(Choice("month", "29.2.2028"), TODAY) == Period(
        "month", date(2028, 2, 1), date(2028, 2, 29)
    )
    assert period_of(Choice.from_query({}), TODAY) == Period("month", date(2026, 3, 1), date(2026, 3, 31))


def test_the_neighbouring_periods_and_the_forms_query() -> None:
    march = period_of(Choice("month"), TODAY)
    assert march.previous() == Period("month", date(2026, 2, 1), date(2026, 2, 28))
    assert march.following() == Period("month", date(2026, 4, 1), date(2026, 4, 30))
    new_year = period_of(Choice("week", "2026-12-31"), TODAY)
    assert new_year.following() == Period("week", date(2027, 1, 4), date(2027, 1, 10))
    assert march.query("neuvola") == "period=month&day=2026-03-01&team=neuvola"
    custom = period_of(Choice("custom", first="1.1.2026", last="2026-01-31"), TODAY)
    assert custom.previous() is None and custom.following() is None
    assert custom.query(None) == "period=custom&from=2026-01-01&to=2026-01-31&team="


def test_a_custom_range_has_both_days_in_order_and_at_most_366_days() -> None:
    leap_year = period_of(Choice("custom", first="2028-01-01", last="2028-12-31"), TODAY)
    assert leap_year.days == 366
    with pytest.raises(InvalidChoice) as too_long:
        period_of(Choice("custom", first="2027-12-31", last="2028-12-31"), TODAY)
    assert too_long.value.key == "desk.stats.errors.too_long" and too_long.value.values == {"days": 366}
    with pytest.raises(InvalidChoice, match="order"):
        period_of(Choice("custom", first="2026-03-02", last="2026-03-01"), TODAY)
    with pytest.raises(InvalidChoice, match="custom_missing"):
        period_of(Choice("custom", first="2026-03-02"), TODAY)


@pytest.mark.parametrize("written", ["2026-02-30", "30.2.2026", "maaliskuu", "1999-12-31", "0001-01-01"])
def test_a_date_that_cannot_be_is_refused(written: str) -> None:
    with pytest.raises(InvalidChoice, match="errors.date"):
        read_date(written)


def test_a_month_for_the_printable_report() -> None:
    assert read_month("2026-02", TODAY) == Period("month", date(2026, 2, 1), date(2026, 2, 28))
    assert read_month("", TODAY).first == date(2026, 3, 1)
    for written in ("2026-13", "2026-3", "3/2026"):
        with pytest.raises(InvalidChoice, match="errors.month"):
            read_month(written, TODAY)


def test_a_team_is_one_of_the_catalogue_or_all() -> None:
    assert team_of(Choice(team="neuvola"), ("neuvola", "katilot")) == "neuvola"
    assert team_of(Choice(team=""), ("neuvola",)) is None
    with pytest.raises(InvalidChoice, match="errors.team"):
        team_of(Choice(team="hammas"), ("neuvola",))
    with pytest.raises(InvalidChoice, match="errors.period"):
        period_of(Choice("year"), TODAY)
