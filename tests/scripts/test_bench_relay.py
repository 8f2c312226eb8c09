"""The relay benchmark's own arithmetic (scripts/bench_relay.py): who connects from where, when each
side starts, what counts as lost or reordered, the CPU reading and the side-by-side table."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from tests.scripts_loader import load_script

bench = load_script("bench_relay")


def options(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {"chats": 50, "messages": 20, "interval_ms": 1000.0, "spread": False}
    return argparse.Namespace(**(values | given))


class FakeChat:
    def __init__(self, index: int) -> None:
        self.index = index


def test_each_resident_connects_from_an_address_of_its_own_on_loopback() -> None:
    addresses = [bench.resident_address(index) for index in range(600)]
    assert addresses[:2] == ["127.0.0.2", "127.0.0.3"]
    assert len(set(addresses)) == 600
    assert all(address.startswith("127.") for address in addresses)  # loopback only


def test_the_chats_start_together_unless_spread_over_one_interval() -> None:
    chats = [FakeChat(index) for index in range(50)]
    assert {bench.offset(chat, half, options()) for chat in chats for half in (0, 0.5)} == {0.0}
    spread = options(spread=True)
    starts = sorted(bench.offset(chat, half, spread) for chat in chats for half in (0, 0.5))
    assert starts[0] == 0.0 and starts[-1] < 1.0
    assert all(
        later - earlier == pytest.approx(0.01) for earlier, later in zip(starts, starts[1:], strict=False)
    )


def test_lost_and_reordered_are_counted_per_chat() -> None:
    chat = FakeChat(3)
    assert bench.problems(["r:3:0", "r:3:1", "r:3:2"], "r", chat, 3) == (0, 0)
    assert bench.problems(["r:3:0", "r:3:2"], "r", chat, 3) == (1, 0)
    assert bench.problems(["r:3:1", "r:3:0", "r:3:2"], "r", chat, 3) == (0, 1)


def test_the_cpu_time_of_a_process_is_read_from_proc() -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc")
    used = bench.cpu_seconds(os.getpid())
    sum(range(2_000_000))
    assert used is not None and bench.cpu_seconds(os.getpid()) > used
    assert bench.cpu_seconds(2**22 + 12345) is None  # no such process


def test_a_run_is_one_row_of_the_side_by_side_table() -> None:
    latencies = {bench.TO_AGENT: [10.0, 20.0, 30.0], bench.TO_RESIDENT: [5.0, 6.0]}
    row = bench.figures(bench.Result(latencies, lost=0, reordered=1, wall=1.0, cpu_ms=2.5))
    assert row == [20.0, 30.0, 30.0, 5.0, 6.0, 6.0, 2.5, 0, 1]
    assert len(row) == len(bench.COLUMNS)
    shown = ["20.0", "30.0", "30.0", "5.0", "6.0", "6.0", "2.50", "0", "1"]
    assert bench.line("1 this", row).split()[-9:] == shown


def test_repeated_runs_need_postgresql_or_sqlite(tmp_path: Path) -> None:
    with bench.fresh_database(None, tmp_path, "r0this") as url:
        assert url == f"sqlite:///{tmp_path / 'handoff.db'}"
    with (
        pytest.raises(SystemExit, match="PostgreSQL"),
        bench.fresh_database("sqlite:///x.db", tmp_path, "r0"),
    ):
        pass
