"""The action server entry point (``python -m actions``): loopback only, and only for Rasa.

Each test here fails if its protection is removed: the token middleware, the
loopback default, the error handler that keeps request bodies out of answers.
"""

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

from opastin.processes import DidNotAnswer, free_port, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-action-token-0123456789"


def call(url: str, body: dict | None = None) -> tuple[int, str]:
    """Status and body of a GET (or a POST of ``body``)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def listening_addresses(port: int) -> set[str]:
    """The IPv4/IPv6 addresses with a socket listening on ``port`` (from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "ACTION_SERVER_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    env.pop("ACTION_SERVER_HOST", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "actions", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/health", [process])
    except DidNotAnswer as error:
        process.kill()
        pytest.fail(f"{error}: {process.stdout.read().decode()[-2000:]}")
    yield url
    process.terminate()
    process.wait(timeout=15)


def test_it_listens_on_loopback_only(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing on 0.0.0.0 or ::


def test_health_is_open(server: str) -> None:
    assert call(f"{server}/health") == (200, '{"status":"ok"}')


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", f"?token={TOKEN}x"])
def test_calls_without_the_shared_secret_are_refused(server: str, query: str) -> None:
    made_up = {"next_action": "action_join_queue", "tracker": {"sender_id": "victim", "events": []}}
    assert call(f"{server}/webhook{query}", made_up)[0] == 401
    assert call(f"{server}/actions{query}")[0] == 401


def test_rasa_with_the_secret_is_served(server: str) -> None:
    status, body = call(f"{server}/actions?token={TOKEN}")
    assert status == 200 and {"name": "action_join_queue"} in json.loads(body)


def test_a_failing_action_answers_without_the_request(server: str) -> None:
    broken = {"next_action": "action_join_queue", "tracker": "hetu 131052-308T ja oma viesti"}
    status, body = call(f"{server}/webhook?token={TOKEN}", broken)
    assert status == 500
    assert "131052" not in body and "oma viesti" not in body
