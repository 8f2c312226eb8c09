"""Backups of PostgreSQL with scripts/backup.py, end to end (docs/operations.md, "Backups of PostgreSQL").

On the throw-away cluster of ``scripts/with_postgres.sh`` (skipped without
``TEST_DATABASE_URL``): the real handoff service runs on a new database A and
its own paths create the state (a resident in the queue, a live chat with an
agent, a contact request, feedback, daily counts: residents over socket.io as
the widget speaks, the agent through the desk, the action server's calls
through the service API; a small fake of Rasa's REST channel answers the bot
turns). The script dumps A and restores the dump into an empty database B;
every row and sequence of B is A's, the schema is at Alembic's head, the
statistics report says the same, and the service started on B lets the
residents resume with their browser secrets (the same history redrawn, the
same queue place), the agent finds the queue, the live chat (which goes on)
and the contact request, and new rows get new ids. Also: an old dump is
migrated to this release's schema, a database that is not empty is refused
unless ``--force``, passwords are never printed, and dumps older than the
shortest retention are pruned (that part needs no PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from devtools.stack import always_open_teams, child_environment, create_agents, handoff_cli, handoff_server
from handoff.db import MIGRATIONS_DIR, alembic_config
from opastin.hours import HELSINKI
from opastin.places import DEFAULT_TEAMS_FILE
from tests.e2e.stack import conversation_id_of, query_one
from tests.handoff.live_support import Agent, Resident, eventually, sender_of

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "backup.py"
TEAM = "terveysneuvo"
TOKEN = "backup-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "s3cret-Pa55word"  # the cluster trusts loopback: a password in the URL is accepted and ignored
CONTACT_REQUESTS = 5  # five, so the statistics show the figure instead of "< 5"
DAY = 86400


def backup(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run scripts/backup.py as an operator does."""
    command = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(command, cwd=ROOT, env=child_environment(env), capture_output=True, text=True)


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def cluster() -> str:
    """The URL of the throw-away cluster's database (``scripts/with_postgres.sh``)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL not configured: run under scripts/with_postgres.sh (as `make test` does)")
    return url


@contextmanager
def new_database(cluster: str, purpose: str) -> Iterator[str]:
    """A new, empty database on the cluster (dropped afterwards); yields its URL."""
    name = f"opastin_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(cluster, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(cluster).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def with_password(url: str) -> str:
    """``url`` with a password in it (which the script must never print)."""
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def snapshot(url: str) -> dict[str, Any]:
    """Every row of every table (in primary key order) and every sequence's position."""
    engine = create_engine(url, future=True)
    try:
        schema = inspect(engine)
        rows: dict[str, Any] = {}
        with engine.connect() as connection:
            for table in sorted(schema.get_table_names()):
                key = schema.get_pk_constraint(table)["constrained_columns"]
                order = ", ".join(f'"{column}"' for column in key) or "1"
                rows[table] = [
                    tuple(row)
                    for row in connection.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}'))
                ]
            sequences = "SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename"
            rows["(sequences)"] = [tuple(row) for row in connection.execute(text(sequences))]
        return rows
    finally:
        engine.dispose()


def alembic_current(url: str) -> str:
    """What ``alembic current`` says of the database at ``url``."""
    ini = str(MIGRATIONS_DIR / "alembic.ini")
    command = [sys.executable, "-m", "alembic", "-c", ini, "current"]
    env = child_environment({"DATABASE_URL": url})
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def head_revision() -> str:
    """The newest revision of this release's migrations."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


# --- the service and its state -----------------------------------------------------------------


class FakeRasaHandler(BaseHTTPRequestHandler):
    """Rasa's REST channel, answering ``Botti: <text>``; "tarvitsen …" also gets a team route."""

    def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        sender, said = body["sender"], body["message"]
        replies: list[dict[str, Any]] = [{"recipient_id": sender, "text": f"Botti: {said}"}]
        if said.startswith("tarvitsen"):
            route = {"type": "team", "target": TEAM}
            replies.append(
                {"recipient_id": sender, "text": "Ohjaan sinut eteenpäin.", "custom": {"route": route}}
            )
        answer = json.dumps(replies).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        """Quiet."""


@contextmanager
def fake_rasa() -> Iterator[str]:
    """The fake REST channel on a free loopback port; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasaHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def service_env(database: str, tmp: Path, rasa_url: str, name: str) -> dict[str, str]:
    """The environment of the service on ``database``: every team open, a known API token."""
    return {
        "DATABASE_URL": database,
        "HANDOFF_TEAMS_FILE": str(tmp / "teams.yml"),
        "HANDOFF_VAR_DIR": str(tmp / name),
        "OPASTIN_OUTBOX_DIR": str(tmp / name / "outbox"),
        "HANDOFF_API_TOKEN": TOKEN,
        "HANDOFF_AGENT_GRACE_S": "600",
        "RASA_URL": rasa_url,
    }


async def service(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """Call the service API as the action server does."""
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client:
        return await client.request(method, path, json=body)


async def start_conversation(url: str, text_: str) -> Resident:
    """A resident opens the page and writes to the bot; returns the widget once the bot answered."""
    resident = Resident(url)
    await resident.connect()
    await resident.say(text_)
    await resident.until(lambda message: message.get("text") == f"Botti: {text_}")
    return resident


async def hand_off(url: str, database: str, resident: Resident, summary: str) -> str:
    """The bot hands the resident to the team (POST /api/service/handoffs); returns the conversation id."""
    assert resident.secret is not None
    conversation_id = conversation_id_of(database, resident.secret)
    body = {
        "conversation_id": conversation_id,
        "team": TEAM,
        "summary": summary,
        "transcript": [{"sender": "resident", "text": summary}],
    }
    created = await service(url, "POST", "/api/service/handoffs", body)
    assert created.status_code == 201, created.text
    await resident.until(lambda message: "queue" in message.get("custom", {}))
    return conversation_id


async def create_state(url: str, database: str, password: str) -> dict[str, Any]:
    """Through the service's own paths: a queued resident, a live chat, contact requests, feedback."""
    agent = Agent(url)
    assert (await agent.login("hoitaja", password)).status_code == 303
    await agent.present(TEAM)
    await agent.connect_socket()

    waiting = await start_conversation(url, "tarvitsen neuvoa lääkityksestä")
    waiting_id = await hand_off(url, database, waiting, "Kysyy lääkityksestä")

    chatting = await start_conversation(url, "tarvitsen hoitajaa")
    chatting_id = await hand_off(url, database, chatting, "Haluaa puhua hoitajalle")
    assert await agent.accept(TEAM, chatting_id) == chatting_id
    await chatting.until(lambda message: sender_of(message) == "system")  # the agent joined
    await agent.reply(chatting_id, "Hei, olen hoitaja. Miten voin auttaa?")
    await chatting.until(lambda message: sender_of(message) == "agent")
    await chatting.say("Kysyisin rokotuksista")
    assert (await agent.next_message())["text"] == "Kysyisin rokotuksista"

    leaving = await start_conversation(url, "jätän yhteydenottopyynnön")
    assert leaving.secret is not None
    leaving_id = conversation_id_of(database, leaving.secret)
    references = []
    for number in range(CONTACT_REQUESTS):
        body = {
            "team": TEAM,
            "topic": f"Takaisinsoittopyyntö {number}",
            "message": f"Soittakaa minulle, asia {number}",
            "contact_method": "phone",
            "contact_value": "040 123 4567",
            "consent": True,
        } | ({"conversation_id": leaving_id} if number == 0 else {})
        created = await service(url, "POST", "/api/service/contact-requests", body)
        assert created.status_code == 201, created.text
        references.append(created.json()["reference"])
    feedback = {"rating": 5, "comment": "Selkeä ja nopea", "conversation_id": leaving_id}
    assert (await service(url, "POST", "/api/service/feedback", feedback)).status_code == 201
    await leaving.sio.emit("session_end", {})  # "Lopeta keskustelu": the conversation is counted
    counted = "SELECT count(*) FROM resident_sessions WHERE conversation_id = :id AND counted_at IS NOT NULL"
    await eventually(lambda: query_one(database, counted, id=leaving_id) == (1,))
    for widget in (waiting, chatting, leaving):
        await widget.close()
    await agent.close()
    return {
        "waiting": (waiting.secret, waiting_id),
        "chatting": (chatting.secret, chatting_id),
        "references": references,
    }


async def redrawn(url: str, database: str, secret: str, conversation_id: str, queued: bool) -> dict[str, Any]:
    """What the widget shows when it comes back with ``secret``: the history, and the queue place."""
    count = "SELECT count(*) FROM session_messages WHERE conversation_id = :id"
    stored = query_one(database, count, id=conversation_id)[0]
    resident = Resident(url)
    try:
        assert await resident.connect(secret) == secret, "the conversation did not resume"
        shown: dict[str, Any] = {"history": [await resident.next() for _ in range(min(stored, 50))]}
        shown["reference"] = resident.reference  # sent before the history
        assert shown["reference"] is not None
        assert all(message["custom"]["history"] is True for message in shown["history"])
        if queued:
            place = (await resident.next())["custom"]["queue"]
            shown["place"] = (place["position"], place["queue_length"])
        await asyncio.sleep(0.3)
        assert resident.drain() == [], "the resumed page got more than its history"
        return shown
    finally:
        await resident.close()


async def history_of(url: str, database: str, state: dict[str, Any]) -> dict[str, Any]:
    """The queued and the chatting resident's pages as they are redrawn when they come back."""
    return {
        name: await redrawn(url, database, *state[name], queued=name == "waiting")
        for name in ("waiting", "chatting")
    }


def stats(env: dict[str, str]) -> str:
    """``python -m handoff stats`` around today (Helsinki), as CSV."""
    today = datetime.now(HELSINKI).date()
    first, last = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
    return handoff_cli(env, "stats", "--from", first, "--to", last, "--format", "csv")


def older_dump(directory: Path, age_days: float) -> Path:
    """A dump file as one taken ``age_days`` ago would be."""
    taken = time.time() - age_days * DAY
    path = directory / f"opastin-{datetime.fromtimestamp(taken, UTC):%Y%m%dT%H%M%SZ}.dump"
    path.write_bytes(b"an older dump")
    os.utime(path, (taken, taken))
    return path


# --- the tests ---------------------------------------------------------------------------------


async def test_a_dump_restored_into_an_empty_database_runs_the_service_with_everything_intact(
    cluster: str, tmp_path: Path
) -> None:
    always_open_teams(tmp_path / "teams.yml")
    backups = tmp_path / "backups"
    backups.mkdir()
    expired, recent = older_dump(backups, 31), older_dump(backups, 1)
    with (
        fake_rasa() as rasa_url,
        new_database(cluster, "backup_a") as a,
        new_database(cluster, "backup_b") as b,
    ):
        env_a = service_env(a, tmp_path, rasa_url, "a")
        handoff_cli(env_a, "migrate")
        passwords = create_agents(a, {"hoitaja": TEAM})
        with (tmp_path / "service-a.log").open("wb") as log, handoff_server(env_a, output=log) as (url, _):
            state = await create_state(url, a, passwords["hoitaja"])
            before = await history_of(url, a, state)
        figures = stats(env_a)
        assert f"{TEAM},contact_requests,{CONTACT_REQUESTS}" in figures, figures
        rows = snapshot(a)
        assert rows["contact_requests"] and rows["feedback"] and rows["daily_counts"] and rows["messages"]

        # The dump: a new file of the operator's only; the dump older than the retention is gone.
        dumped = backup("dump", with_password(a), str(backups))
        assert dumped.returncode == 0, dumped.stderr
        assert PASSWORD not in dumped.stdout + dumped.stderr
        assert "***" in dumped.stdout
        (dump,) = set(backups.glob("opastin-*.dump")) - {recent}
        assert recent.exists() and not expired.exists()
        assert stat.S_IMODE(dump.stat().st_mode) == 0o600
        assert abs(dump.stat().st_mtime - datetime.now(UTC).timestamp()) < 120

        # The restore into an empty database: the same rows, the newest schema, the same figures.
        restored = backup("restore", str(dump), with_password(b))
        assert restored.returncode == 0, restored.stderr
        assert PASSWORD not in restored.stdout + restored.stderr
        assert snapshot(b) == rows
        assert alembic_current(b) == f"{head_revision()} (head)"
        env_b = service_env(b, tmp_path, rasa_url, "b")
        assert stats(env_b) == figures

        with (tmp_path / "service-b.log").open("wb") as log, handoff_server(env_b, output=log) as (url, _):
            after = await history_of(url, b, state)
            assert after == before
            said = [(sender_of(message), message.get("text")) for message in after["waiting"]["history"]]
            assert said == [
                ("resident", "tarvitsen neuvoa lääkityksestä"),
                ("bot", "Botti: tarvitsen neuvoa lääkityksestä"),
                ("bot", "Ohjaan sinut eteenpäin."),
            ]
            assert after["waiting"]["history"][2]["custom"]["route"] == {"type": "team", "target": TEAM}
            assert after["waiting"]["place"] == (1, 1)
            texts = [message.get("text") for message in after["chatting"]["history"]]
            assert "Hei, olen hoitaja. Miten voin auttaa?" in texts and "Kysyisin rokotuksista" in texts
            await the_agent_finds_everything(url, state, passwords["hoitaja"])


async def the_agent_finds_everything(url: str, state: dict[str, Any], password: str) -> None:
    """On the restored service: the desk shows the queue, the live chat (which goes on) and the inbox."""
    waiting_id, (chatting_secret, chatting_id) = state["waiting"][1], state["chatting"]
    queued = await service(url, "GET", f"/api/service/handoffs/{waiting_id}")
    assert (queued.json()["status"], queued.json()["position"]) == ("queued", 1)
    assert (await service(url, "GET", f"/api/service/handoffs/{chatting_id}")).json()["status"] == "active"

    agent = Agent(url)
    assert (await agent.login("hoitaja", password)).status_code == 303
    await agent.connect_socket()
    overview = (await agent.http.get("/desk/fragments/overview")).text
    assert f'href="/desk/conversations/{chatting_id}"' in overview  # my live chats
    assert f'value="{waiting_id}"' in overview  # the queue, with its "take" button
    chat = (await agent.http.get(f"/desk/conversations/{chatting_id}")).text
    assert "Hei, olen hoitaja. Miten voin auttaa?" in chat and "Kysyisin rokotuksista" in chat
    inbox = (await agent.http.get(f"/desk/teams/{TEAM}/contact-requests")).text
    assert all(reference in inbox for reference in state["references"])
    assert "Takaisinsoittopyyntö 0" in inbox

    # The live chat goes on where it was, both ways.
    resident = Resident(url)
    assert await resident.connect(chatting_secret) == chatting_secret
    await agent.reply(chatting_id, "Jatketaan siitä, mihin jäimme.")
    said = await resident.until(lambda message: message.get("text") == "Jatketaan siitä, mihin jäimme.")
    assert sender_of(said) == "agent"
    await resident.say("Selvä, kiitos")
    assert (await agent.next_message())["text"] == "Selvä, kiitos"

    # New rows get new ids: the sequences came with the dump.
    body = {
        "team": TEAM,
        "topic": "Uusi pyyntö",
        "message": "Palautuksen jälkeen",
        "contact_method": "email",
        "contact_value": "asukas@example.fi",
        "consent": True,
    }
    created = await service(url, "POST", "/api/service/contact-requests", body)
    assert created.status_code == 201, created.text
    assert created.json()["reference"] not in state["references"]
    await resident.close()
    await agent.close()


def test_an_old_dump_is_migrated_to_this_release_and_a_database_in_use_is_refused(
    cluster: str, tmp_path: Path
) -> None:
    with (
        new_database(cluster, "backup_old") as old,
        new_database(cluster, "backup_new") as new,
        new_database(cluster, "backup_used") as used,
    ):
        ini = str(MIGRATIONS_DIR / "alembic.ini")
        upgrade = [sys.executable, "-m", "alembic", "-c", ini, "upgrade", "0005"]
        subprocess.run(upgrade, cwd=ROOT, env=child_environment({"DATABASE_URL": old}), check=True)
        engine = create_engine(old, future=True)
        with engine.begin() as connection:
            insert = "INSERT INTO daily_counts VALUES (:day, :team, 'feedback', '4', 7)"
            connection.execute(text(insert), {"day": datetime.now(HELSINKI).date(), "team": TEAM})
        engine.dispose()
        assert alembic_current(old) == "0005"
        dumped = backup("dump", old, str(tmp_path))
        assert dumped.returncode == 0, dumped.stderr
        (dump,) = tmp_path.glob("opastin-*.dump")

        restored = backup("restore", str(dump), new)
        assert restored.returncode == 0, restored.stderr
        assert alembic_current(new) == f"{head_revision()} (head)"
        assert query_one(new, "SELECT value FROM daily_counts WHERE metric = 'feedback'") == (7,)

        # A database with tables is refused, and left as it was ...
        engine = create_engine(used, future=True)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE keep_me (note text)"))
            connection.execute(text("INSERT INTO keep_me VALUES ('still here')"))
        engine.dispose()
        refused = backup("restore", str(dump), with_password(used))
        assert refused.returncode == 1
        assert "is not empty" in refused.stderr and PASSWORD not in refused.stderr
        assert "***" in refused.stderr
        assert query_one(used, "SELECT note FROM keep_me") == ("still here",)
        assert query_one(
            used, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'daily_counts'"
        ) == (0,)
        # ... unless the operator insists (and may leave the migration to the Kubernetes Job).
        forced = backup("restore", "--force", "--no-migrate", str(dump), used)
        assert forced.returncode == 0, forced.stderr
        assert alembic_current(used) == "0005"
        assert query_one(used, "SELECT value FROM daily_counts WHERE metric = 'feedback'") == (7,)


def test_a_failing_dump_shows_no_password(cluster: str, tmp_path: Path) -> None:
    unreachable = make_url(with_password(cluster)).set(port=1).render_as_string(hide_password=False)
    failed = backup("dump", unreachable, str(tmp_path / "backups"))
    assert failed.returncode == 1
    assert "pg_dump failed" in failed.stderr and "***" in failed.stderr
    assert PASSWORD not in failed.stdout + failed.stderr
    assert list((tmp_path / "backups").iterdir()) == []  # no partial dump left behind


# --- how long dumps are kept (no PostgreSQL needed) -------------------------------------------


def test_dumps_older_than_the_shortest_retention_are_pruned(tmp_path: Path) -> None:
    now = time.time()
    ages = {  # file name -> age by its modification time, in days
        "opastin-20991231T235959Z.dump": 1,
        "opastin-20991230T020000Z.dump": 29.9,
        "opastin-20991201T020000Z.dump": 30.1,
        "opastin-20990101T020000Z.dump.gpg": 400,
        "opastin-20991229T020000Z.dump.partial": 31,
        "opastin-20200101T020000Z.dump": 0,  # copied later: its name says when its data is from
        "opastin-manual.dump": 400,  # not named like ours: never touched
        "notes.txt": 400,
    }
    for name, age in ages.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (now - age * DAY,) * 2)

    assert backup("keep-days").stdout.startswith("30 (retention.unrouted_days of ")
    pruned = backup("prune", str(tmp_path))
    assert pruned.returncode == 0, pruned.stderr
    kept = {path.name for path in tmp_path.iterdir()}
    expected = {
        "opastin-20991231T235959Z.dump",
        "opastin-20991230T020000Z.dump",
        "opastin-manual.dump",
        "notes.txt",
    }
    assert kept == expected
    assert "Deleted 4 dumps older than 30 days" in pruned.stdout

    # Shorter on request; never longer than the data may be kept.
    assert backup("prune", "--keep-days", "14", str(tmp_path)).returncode == 0
    assert {path.name for path in tmp_path.iterdir()} == expected - {"opastin-20991230T020000Z.dump"}
    refused = backup("prune", "--keep-days", "31", str(tmp_path))
    assert refused.returncode == 1 and "may be kept 1–30 days" in refused.stderr


def test_the_backup_period_follows_the_shortest_retention_of_the_catalogue(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_TEAMS_FILE.read_text(encoding="utf-8"))
    document["teams"][TEAM]["retention_days"] = 20
    teams_file = tmp_path / "teams.yml"
    teams_file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    told = backup("keep-days", env={"HANDOFF_TEAMS_FILE": str(teams_file)})
    assert told.returncode == 0, told.stderr
    assert told.stdout.strip() == f"20 (retention_days of team {TEAM} of {teams_file})"
