"""The statistics benchmark (scripts/bench_stats.py) on the small simulated history (conftest.py):
it reuses a database that has counts, times each step of the year's report and prints a table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.scripts.conftest import History
from tests.scripts_loader import load_script

bench = load_script("bench_stats")
STEPS = ["load_rows", "build_report", "csv_text", "as_dict", "report total"]


def test_a_database_with_counts_is_reused_not_simulated_again(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not bench.holds_counts(f"sqlite:///{tmp_path / 'empty.db'}")
    assert bench.holds_counts(history.url)
    bench.prepare(history.url, 100_000, 1, date(2026, 1, 1))
    assert capsys.readouterr().out.startswith("Reusing the counts in sqlite:///")


def test_each_step_of_the_report_is_timed_and_tabled(history: History) -> None:
    timings, csv = bench.time_report(history.url, "sqlite", runs=3)
    assert csv.startswith("team,measure,value\n")
    assert f"(total),conversations,{history.truth['conversations']}\n" in csv
    assert [timing.step for timing in timings] == STEPS
    assert all(len(timing.runs) == 3 and 0 < timing.median <= timing.slowest for timing in timings)
    steps = [timing.runs for timing in timings[:-1]]
    assert timings[-1].runs == pytest.approx([sum(run) for run in zip(*steps, strict=True)])
    lines = bench.table(timings)
    assert lines[0].split() == ["database", "step", "median", "ms", "max", "ms"]
    assert [line.split()[1] for line in lines[2:]] == [*STEPS[:-1], "report"]  # "report total"


def test_the_desk_page_is_asked_for_the_period_and_its_csv_found_in_it() -> None:
    assert bench.finnish(date(2026, 1, 5)) == "5.1.2026"
    page = '<a class="csv" href="/desk/tilastot.csv?period=custom&amp;from=1.1.2026">CSV</a>'
    assert bench.csv_link(page) == "/desk/tilastot.csv?period=custom&from=1.1.2026"
    assert bench.csv_link('<a href="/desk/tilastot?format=csv">') == "/desk/tilastot?format=csv"
    page = '<li><a href="/desk/tilastot/csv?period=custom&amp;from=1.1.2026">Lataa CSV</a></li>'
    assert bench.csv_link(page) == "/desk/tilastot/csv?period=custom&from=1.1.2026"
    assert bench.csv_link("<p>Ei lataa.</p>") is None
