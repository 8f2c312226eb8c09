"""`make run` end to end: real processes start, answer in Finnish, and stop cleanly on Ctrl-C.

Needs a trained model (``make test`` trains before it runs pytest) and the
default ports 5005, 5055 and 8000 free.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.scripts_loader import load_script

run = load_script("run")
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 300


def _post_json(url: str, payload: dict) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _wait_for_line(process: subprocess.Popen, marker: str) -> list[str]:
    """Read the launcher's output until ``marker`` appears; fail on exit or timeout."""
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            lines.append(line.rstrip())
            if marker in line:
                return lines
        elif process.poll() is not None:
            pytest.fail("launcher exited early:\n" + "\n".join(lines) + process.stdout.read())
        else:
            time.sleep(0.2)
    pytest.fail("launcher did not become ready:\n" + "\n".join(lines))


@pytest.fixture
def launcher():
    """`scripts/run.py` as `make run` starts it, stopped with SIGINT afterwards if still running."""
    if not run.MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does) before this test")
    busy = [s.port for s in run.services() if not run.port_free(s.port)]
    if busy:
        pytest.skip(f"ports {busy} are in use (is `make run` running?)")
    env = run.child_environment()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run.py")], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def test_make_run_answers_in_finnish_and_stops_cleanly_on_ctrl_c(launcher: subprocess.Popen) -> None:
    output = "\n".join(_wait_for_line(launcher, "Press Ctrl-C to stop everything"))
    assert "Opastin is running" in output
    assert "resident page:  http://localhost:8000/" in output
    assert "localhost:5005/webhooks/rest/webhook" in output
    pids = {service.name: run.read_pid(service.pid_file) for service in run.services()}
    assert all(pids.values()), pids

    replies = _post_json("http://127.0.0.1:5005/webhooks/rest/webhook", {"sender": "t1", "message": "hei"})
    assert replies and "Opastin" in replies[0]["text"] and "apua" in replies[0]["text"]

    teams = _get_json("http://127.0.0.1:8000/api/public/teams")
    assert {team["id"] for team in teams} >= {"neuvola", "terveysneuvo", "suun_terveydenhuolto"}

    launcher.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does
    assert launcher.wait(timeout=60) == 0
    for name, pid in pids.items():
        assert not run.process_alive(pid), f"{name} (pid {pid}) is still running"
    assert not any(service.pid_file.exists() for service in run.services())
    assert all(run.port_free(service.port) for service in run.services())
