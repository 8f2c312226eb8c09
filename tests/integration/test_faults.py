"""The fault suite's short run (issue 19): handoff-1 and rasa-1 killed while residents and agents chat.

`scripts/faults.py --short` starts its own cluster on free ports in a temporary folder,
runs six residents with the bot, three live chats and one queued resident through
HAProxy, kills the two processes one after the other and stops the cluster: about two
and a half minutes. Its JSON report is checked here; `make faults` is the full run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.scripts_loader import load_script

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]
ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300
faults_script = load_script("faults")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The short run's report (its output shown when it could not write one)."""
    if not faults_script.cluster_script.single.MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does) before this test")
    path = tmp_path_factory.mktemp("faults") / "report.json"
    finished = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "faults.py"), "--short", "--report", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    if not path.exists():
        pytest.fail(
            f"no report (exit {finished.returncode}):\n{finished.stdout[-3000:]}{finished.stderr[-3000:]}"
        )
    return {**json.loads(path.read_text(encoding="utf-8")), "exit_status": finished.returncode}


def test_nothing_seen_as_sent_is_lost(report: dict[str, Any]) -> None:
    total = report["total"]
    assert total["lost"] == 0, total["by_path"]
    assert total["seen_as_sent"] > 0.9 * total["sent"]  # the faults refuse a few, visibly
    assert set(total["by_path"]) == set(faults_script.PATHS)


def test_every_fault_is_recovered_from(report: dict[str, Any]) -> None:
    assert [fault["fault"] for fault in report["faults"]] == ["kill -9 handoff-1", "kill -9 rasa-1"]
    for fault in report["faults"]:
        assert fault["recovered"], fault
        assert fault["process_back_after_s"] is not None
        for side in ("residents_without_service", "agents_without_service"):
            assert fault[side]["clients"] > 0 and fault[side]["not_recovered"] == 0, fault


def test_what_was_seen_as_sent_is_stored(report: dict[str, Any]) -> None:
    by_path, stored = report["total"]["by_path"], report["stored"]
    for path in faults_script.PATHS:
        assert stored[path] >= by_path[path]["seen_as_sent"] > 0
    assert report["total"]["duplicated"] == 0


def test_live_chats_queue_and_sessions_are_intact(report: dict[str, Any]) -> None:
    state = report["intact"]
    assert state["live_broken"] == 0 and state["live_kept_with_their_agent"] + state["live_requeued"] == 3
    assert state["queue_order_kept"] and state["queue_entries_doubled"] == 0
    assert state["residents_given_a_new_conversation"] == 0
    assert not report["client_errors"]


def test_the_run_passes_within_its_budget(report: dict[str, Any]) -> None:
    assert report["verdict"] == {"passed": True, "failures": []}
    assert report["exit_status"] == 0
    assert report["duration_s"] < 180
