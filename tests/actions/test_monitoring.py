"""The action server's ``/metrics`` (local or with its token, never Rasa's) and its JSON log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.monitoring import metrics_token
from opastin.processes import DidNotAnswer, free_port, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-action-token-0123456789"
METRICS_TOKEN = "test-metrics-token-0123456789"


def call(url: str, body: dict | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Status and body of a GET (or a POST of ``body``)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "ACTION_SERVER_TOKEN": TOKEN,
        "ACTION_SERVER_METRICS_TOKEN": METRICS_TOKEN,
        "OPASTIN_LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("ACTION_SERVER_HOST", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "actions", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/health", [process])
    except DidNotAnswer as error:
        process.kill()
        pytest.fail(f"{error}: {process.stderr.read().decode()[-2000:]}")
    yield url, process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=15)


def test_the_metrics_token_comes_from_the_environment() -> None:
    assert metrics_token({"ACTION_SERVER_METRICS_TOKEN": f" {METRICS_TOKEN} "}) == METRICS_TOKEN
    assert metrics_token({}) is None


def test_a_local_scrape_needs_no_token(server) -> None:  # type: ignore[no-untyped-def]
    url, _process = server
    status, body = call(f"{url}/metrics")
    assert status == 200 and "opastin_action_runs_total" in body and "process_cpu_seconds_total" in body


def test_a_forwarded_scrape_needs_the_metrics_token_not_rasas(server) -> None:  # type: ignore[no-untyped-def]
    url, _process = server
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert call(f"{url}/metrics", headers=forwarded)[0] == 404
    assert call(f"{url}/metrics?token={TOKEN}", headers=forwarded)[0] == 404
    assert call(f"{url}/metrics", headers={**forwarded, "Authorization": f"Bearer {TOKEN}"})[0] == 404
    status, body = call(f"{url}/metrics", headers={**forwarded, "Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200 and "opastin_action_runs_total" in body


def test_runs_are_counted_by_action_name_without_the_conversation(server) -> None:  # type: ignore[no-untyped-def]
    url, _process = server
    broken = {"next_action": "action_join_queue", "tracker": "w-secret-sender 131052-308T"}
    assert call(f"{url}/webhook?token={TOKEN}", broken)[0] == 500
    unknown = {"next_action": "action_nobody_registered", "tracker": {"sender_id": "w-secret-sender"}}
    assert call(f"{url}/webhook?token={TOKEN}", unknown)[0] == 404
    assert call(f"{url}/webhook", broken)[0] == 401  # refused before the timer: not Rasa
    body = call(f"{url}/metrics")[1]
    assert 'opastin_action_runs_total{action="action_join_queue"} 1.0' in body
    assert 'opastin_action_errors_total{action="action_join_queue"} 1.0' in body
    assert 'opastin_action_runs_total{action="unknown"} 1.0' in body
    assert 'opastin_action_duration_seconds_count{action="action_join_queue"} 1.0' in body
    assert "w-secret-sender" not in body and "action_nobody_registered" not in body and "131052" not in body


def test_the_health_check_stays_open(server) -> None:  # type: ignore[no-untyped-def]
    url, _process = server
    assert call(f"{url}/health") == (200, '{"status":"ok"}')


def test_the_log_is_json_lines_without_the_request(server) -> None:  # type: ignore[no-untyped-def]
    url, process = server
    call(
        f"{url}/webhook?token={TOKEN}",
        {"next_action": "action_join_queue", "tracker": "oma viesti 131052-308T"},
    )
    process.terminate()
    process.wait(timeout=15)
    logged = process.stderr.read().decode()
    lines = logged.splitlines()
    # From the first record on, every line is JSON (a library may print a warning while it is imported).
    first = next(index for index, line in enumerate(lines) if line.startswith("{"))
    entries = [json.loads(line) for line in lines[first:]]
    assert any(entry["level"] == "ERROR" and "TypeError" in entry["message"] for entry in entries)
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert "131052" not in logged and "oma viesti" not in logged
