"""`make run` end to end: real processes start, answer in Finnish, and stop cleanly on Ctrl-C.

Also the privacy promise of a fresh install: identity codes typed through the
resident page in every form are found in no database (SQLite under ``var/``,
or PostgreSQL when ``DATABASE_URL`` points there) and no log, and Rasa and the
action server listen on loopback only.

Needs a trained model (``make test`` trains before it runs pytest) and the
default ports 5005, 5055 and 8000 free.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from opastin import messages
from tests.handoff.live_support import Resident
from tests.scripts_loader import load_script

run = load_script("run")
pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 300
CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 in /proc/net


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


def identity_codes() -> list[str]:
    """New valid identity codes, each written in one of the ways residents type them.

    A hyphen, the 1800s "+", the 2000s "A" and the 2023 letters, no separator, a space,
    an en or em dash, lower case, a temporary 9xx number, glued to words and punctuation.
    """
    forms = [
        ("-", 1900, False),
        ("+", 1800, False),
        ("A", 2000, False),
        ("Y", 1900, False),
        ("C", 2000, False),
        ("", 1900, False),
        (" ", 1900, False),
        ("\u2013", 1900, False),
        ("\u2014", 2000, False),
        ("-", 1900, True),
        ("-", 1900, False),
    ]
    codes = []
    for number, (sign, century, temporary) in enumerate(forms):
        born = dt.date(century + random.randrange(0, 99), random.randrange(1, 13), random.randrange(1, 29))
        individual = random.randrange(900, 1000) if temporary else random.randrange(2, 900)
        check = CHECK_CHARS[int(f"{born:%d%m%y}{individual:03d}") % 31]
        code = f"{born:%d%m%y}{sign}{individual:03d}{check}"
        codes.append(code.lower() if number == 4 else code)
    return codes


def code_pattern(code: str) -> re.Pattern[str]:
    """The code's date and individual number with anything (or nothing) between them."""
    between = r"(?:\W|\\u[0-9a-f]{4}|[A-Y]){0,3}"  # a separator, also JSON-escaped ("\u2013")
    return re.compile(rf"{code[:6]}{between}{code[-4:-1]}".encode(), re.IGNORECASE)


async def chat_through_resident_page(codes: list[str]) -> list[str]:
    """Send each code in a message over the resident page's socket; return the texts the resident saw."""
    resident = Resident("http://127.0.0.1:8000")
    await resident.connect()
    seen = []
    for code in codes:
        await resident.say(f"haluan varata lapselle rokotusajan neuvolaan, hetuni:{code}.")
        seen.append(str((await resident.next(60)).get("text")))
        await asyncio.sleep(1)  # the rest of the replies, and time for the tracker store to commit
        while not resident.inbox.empty():
            seen.append(str(resident.inbox.get_nowait().get("text")))
    await resident.close()
    return seen


def stored_bytes(database_url: str | None) -> bytes:
    """Every file under ``var/`` (databases, logs, outbox) and, with PostgreSQL, every row."""
    chunks = [path.read_bytes() for path in (ROOT / "var").rglob("*") if path.is_file()]
    if database_url:
        engine = create_engine(database_url)
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                rows = connection.execute(text(f'SELECT * FROM "{table}"')).fetchall()
                chunks.append(repr(rows).encode())
        engine.dispose()
    return b"\n".join(chunks)


def listening_addresses(port: int) -> set[str]:
    """The addresses with a socket listening on ``port`` (from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.fixture
def run_database(request: pytest.FixtureRequest) -> str | None:
    """Nothing (SQLite under var/), or a new PostgreSQL database in the test cluster."""
    if request.param == "sqlite":
        yield None
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: run under scripts/with_postgres.sh (as `make test` does)")
    name = f"opastin_run_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def launcher(run_database: str | None):
    """`scripts/run.py` as `make run` starts it, stopped with SIGINT afterwards if still running."""
    if not run.MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does) before this test")
    busy = [s.port for s in run.services() if not run.port_free(s.port)]
    if busy:
        pytest.skip(f"ports {busy} are in use (is `make run` running?)")
    env = run.child_environment()
    env.pop("DATABASE_URL", None)
    if run_database:
        env["DATABASE_URL"] = run_database
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


@pytest.mark.parametrize("run_database", ["sqlite", "postgresql"], indirect=True)
def test_make_run_answers_in_finnish_and_stops_cleanly_on_ctrl_c(
    launcher: subprocess.Popen, run_database: str | None
) -> None:
    output = "\n".join(_wait_for_line(launcher, "Press Ctrl-C to stop everything"))
    assert "Opastin is running" in output
    assert "resident page:  http://localhost:8000/" in output
    assert "localhost:5005/webhooks/rest/webhook" in output
    pids = {service.name: run.read_pid(service.pid_file) for service in run.services()}
    assert all(pids.values()), pids

    sender = f"t-{random.randrange(10**9)}"  # a new resident: var/ may keep an earlier run's trackers
    replies = _post_json("http://127.0.0.1:5005/webhooks/rest/webhook", {"sender": sender, "message": "hei"})
    assert replies and "Opastin" in replies[0]["text"] and "apua" in replies[0]["text"]

    teams = _get_json("http://127.0.0.1:8000/api/public/teams")
    assert {team["id"] for team in teams} >= {"neuvola", "terveysneuvo", "suun_terveydenhuolto"}

    for port in (5005, 5055, 8000):
        assert listening_addresses(port) <= LOOPBACK, (port, listening_addresses(port))

    codes = identity_codes()
    seen = asyncio.run(chat_through_resident_page(codes))
    logs = b"\n".join(path.read_bytes() for path in (ROOT / "var" / "log").glob("*.log*"))
    assert b"rokotusajan" not in logs  # no message text in any log
    stored = stored_bytes(run_database)
    leaked = [code for code in codes if code_pattern(code).search(stored)]
    assert not leaked, f"identity codes found under var/ or in the database: {leaked}"
    assert b"******-****" in stored  # the masked messages are there
    assert seen.count(messages.text("gateway.hetu_removed")) == 1, seen  # told once, kindly
    assert "Tässä asiassa sinua auttaa Neuvola." in seen, seen  # the action server answered Rasa

    launcher.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does
    assert launcher.wait(timeout=60) == 0
    for name, pid in pids.items():
        assert not run.process_alive(pid), f"{name} (pid {pid}) is still running"
    assert not any(service.pid_file.exists() for service in run.services())
    assert all(run.port_free(service.port) for service in run.services())
