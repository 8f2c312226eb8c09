"""Opastin's processes on free loopback ports, for the benchmarks and the end-to-end tests.

:func:`rasa_server` starts the Rasa server (with the trained model and a
throw-away SQLite tracker store) and :func:`action_server` the action server it
calls (the end-to-end tests share one Rasa and give each module an action
server of its own); :func:`bot_servers` is both at once. :func:`handoff_server`
starts the handoff service with the environment it is given. Each waits until
the process answers (never a fixed sleep) and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import yaml

from opastin.finnish_time import HELSINKI
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.processes import DidNotAnswer, free_port, stop_processes, wait_until, wait_until_answering
from opastin.teams import WEEKDAYS

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "opastin.tar.gz"
RASA = ROOT / ".venv" / "bin" / "rasa"
BOT_START_TIMEOUT_S = 240
ALL_DAY = "00:00-24:00"
ENDPOINTS = """action_endpoint:
  url: "http://127.0.0.1:{actions_port}/webhook"
  token: {token}
tracker_store:
  type: rasa_addons.tracker_store.DatabaseUrlTrackerStore
  default_sqlite_path: {db}
  recent_turns: {recent_turns}
nlg:
  type: rasa_addons.no_repeat.NoRepeatGenerator
"""


def configured_recent_turns() -> int:
    """How many of the resident's latest messages ``endpoints.yml`` has Rasa read back."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    return int(endpoints["tracker_store"]["recent_turns"])


def always_open_teams(path: Path) -> None:
    """Write a copy of the team catalogue in which every team is open 00–24 every day."""
    document = yaml.safe_load(DEFAULT_TEAMS_FILE.read_text(encoding="utf-8"))
    for team in document["teams"].values():
        team.update(always_open_hours())
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def always_open_hours() -> dict[str, Any]:
    """A catalogue entry's ``hours`` and ``exceptions`` for a team open 00–24 every day, also on a
    public holiday around today (closed by default: Independence Day on 6 December)."""
    today = datetime.now(HELSINKI).date()
    return {
        "hours": {day: ALL_DAY for day in WEEKDAYS},
        "exceptions": [
            {"date": today + timedelta(days=offset), "hours": ALL_DAY, "note": "always open"}
            for offset in (-1, 0, 1)
        ],
    }


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child that imports the project, quiet and without telemetry."""
    env = dict(os.environ)
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def post_message(url: str, sender: str, text: str, timeout: float = 30) -> list[dict[str, object]]:
    """Send one message to Rasa's REST channel at ``url`` and return the bot's replies."""
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        replies: list[dict[str, object]] = json.load(response)
        return replies


def _bot_answers(url: str) -> bool:
    with contextlib.suppress(OSError, ValueError):
        return bool(post_message(url, "warm-up", "hei", timeout=10))
    return False


@dataclass(frozen=True)
class Rasa:
    """A running Rasa server and where it expects the action server."""

    url: str
    actions_port: int
    actions_token: str


@contextlib.contextmanager
def rasa_server(
    model: Path = MODEL, *, tracker_api: bool = False, recent_turns: int | None = None
) -> Iterator[Rasa]:
    """Start the Rasa server on a free loopback port; its action server is to listen on ``actions_port``.

    ``tracker_api`` opens Rasa's HTTP API (``/conversations/<id>/tracker``) on loopback,
    for the conversation runner that reads what each turn did. ``recent_turns`` overrides
    ``endpoints.yml``'s bounded reading of conversations (0: read whole sessions).

    Start the action server with :func:`action_server` (one at a time on that port:
    tests may give each module an action server of its own behind one Rasa).
    """
    if not model.exists():
        raise FileNotFoundError(f"{model} is missing: train first (make train)")
    rasa_port, actions_port, token = free_port(), free_port(), secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="opastin-rasa-") as tmp:
        endpoints = Path(tmp) / "endpoints.yml"
        endpoints.write_text(
            ENDPOINTS.format(
                actions_port=actions_port,
                db=Path(tmp) / "tracker.db",
                token=token,
                recent_turns=configured_recent_turns() if recent_turns is None else recent_turns,
            )
        )
        command = [
            str(RASA), "run", "--model", str(model), "--port", str(rasa_port), "--interface", "127.0.0.1",
            "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml"),
        ]  # fmt: skip
        command += ["--enable-api"] if tracker_api else []
        env = child_environment({"ACTION_SERVER_TOKEN": token})
        env.pop("DATABASE_URL", None)
        log = Path(tmp) / "rasa.log"
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{rasa_port}"
            try:
                try:
                    wait_until_answering(f"{url}/", [process], BOT_START_TIMEOUT_S)
                except DidNotAnswer as error:
                    raise DidNotAnswer(f"{error}; its log:\n{log.read_text()[-3000:]}") from None
                yield Rasa(url, actions_port, token)
            finally:
                stop_processes([process])


@contextlib.contextmanager
def action_server(rasa: Rasa, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start the action server ``rasa`` calls, with ``env`` added; yield its URL once Rasa answers."""
    command = [sys.executable, "-m", "actions", "--port", str(rasa.actions_port)]
    environment = child_environment({**(env or {}), "ACTION_SERVER_TOKEN": rasa.actions_token})
    process = subprocess.Popen(command, cwd=ROOT, env=environment)
    url = f"http://127.0.0.1:{rasa.actions_port}"
    try:
        wait_until_answering(f"{url}/health", [process])
        wait_until(lambda: _bot_answers(rasa.url), [process], BOT_START_TIMEOUT_S, what="Rasa")
        yield url
    finally:
        stop_processes([process])


@contextlib.contextmanager
def bot_servers(model: Path = MODEL) -> Iterator[str]:
    """Start the Rasa and action servers on free loopback ports; yield the Rasa URL; stop both."""
    with rasa_server(model) as rasa, action_server(rasa):
        yield rasa.url


@contextlib.contextmanager
def handoff_server(
    env: Mapping[str, str], port: int | None = None, output: IO[bytes] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``python -m handoff serve`` with ``env`` added; yield its URL and process once it answers."""
    port = port or free_port()
    command = [sys.executable, "-m", "handoff", "serve", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(
        command, cwd=ROOT, env=child_environment(env), stdout=output, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/healthz", [server], timeout_s=30)
        yield url, server
    finally:
        stop_processes([server])


def handoff_cli(env: Mapping[str, str], *args: str) -> str:
    """Run ``python -m handoff <args>`` with ``env`` added; return its output."""
    command = [sys.executable, "-m", "handoff", *args]
    done = subprocess.run(command, cwd=ROOT, env=child_environment(env), capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"python -m handoff {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def create_agents(database_url: str, agents: Mapping[str, str]) -> dict[str, str]:
    """Accounts (username → team) with passwords of their own, as after their first login."""
    from handoff.agents import create_agent
    from handoff.db import Database

    database = Database(database_url)
    passwords = {username: secrets.token_urlsafe(15) for username in agents}
    try:
        with database.writing() as session:
            for username, team in agents.items():
                create_agent(session, username, passwords[username], datetime.now(UTC), team_ids=[team])
    finally:
        database.dispose()
    return passwords
