"""The development clock: started at a chosen moment, refused in production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opastin.clock import ClockConfigError, clock_from_environment, system_clock


def test_without_a_start_the_system_clock_is_used():
    assert clock_from_environment({}) is system_clock


def test_a_started_clock_reads_the_start_and_runs_on():
    clock = clock_from_environment({"OPASTIN_CLOCK_START": "2027-01-12T10:00:00+02:00"})
    first = clock()
    assert first.tzinfo is UTC
    assert timedelta(0) <= first - datetime(2027, 1, 12, 8, 0, tzinfo=UTC) < timedelta(seconds=5)
    assert clock() >= first


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"OPASTIN_CLOCK_START": "tiistaina kymmeneltä"}, "not an ISO 8601 moment"),
        ({"OPASTIN_CLOCK_START": "2027-01-12T10:00:00"}, "needs its UTC offset"),
        (
            {"OPASTIN_CLOCK_START": "2027-01-12T10:00:00+02:00", "OPASTIN_ENV": "production"},
            "development only",
        ),
    ],
)
def test_a_bad_or_misplaced_start_is_refused(environ, problem):
    with pytest.raises(ClockConfigError, match=problem):
        clock_from_environment(environ)
