"""Fixtures of the scripts' tests: one small simulated history, shared by the tests that read it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from tests.scripts_loader import load_script

CONVERSATIONS = 500
DAYS = 14
START = date(2026, 3, 2)  # a Monday


@dataclass(frozen=True)
class History:
    """A simulated history: its SQLite database and the truth the simulation wrote."""

    url: str
    truth: dict[str, Any]

    @property
    def first(self) -> date:
        return date.fromisoformat(self.truth["from"])

    @property
    def last(self) -> date:
        return date.fromisoformat(self.truth["to"])


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """Two seeded weeks of traffic from the command line, with ``--truth``.

    One agent per team instead of two: each account's Argon2 hash takes a quarter of a second.
    """
    simulation = load_script("simulate_history")
    folder = tmp_path_factory.mktemp("history")
    url = f"sqlite:///{folder / 'handoff.db'}"
    truth = folder / "truth.json"
    arguments = ["--conversations", str(CONVERSATIONS), "--seed", "7", "--database", url]
    arguments += ["--start", START.isoformat(), "--days", str(DAYS), "--truth", str(truth)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(simulation, "AGENTS_PER_TEAM", 1)
        assert simulation.main(arguments) == 0
    return History(url, json.loads(truth.read_text(encoding="utf-8")))
