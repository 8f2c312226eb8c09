"""Fixtures of the handoff tests: databases on SQLite and PostgreSQL, a fixed clock, the app."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from handoff import agents
from handoff.app import create_app
from handoff.db import Database
from handoff.models import Agent
from handoff.settings import Settings, normalise_database_url
from opastin.hours import HELSINKI
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.teams import Teams, load_teams
from tests.redis_support import RedisServer, running_redis

if TYPE_CHECKING:  # live_support imports this module: its names are imported inside the fixtures
    from tests.handoff.live_support import FakeRasa, Live, Resident

API_TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
# Tuesday 10 March 2026, 12:30 in Helsinki: every Mon–Fri team is open, katilot (Mon, Thu) is closed.
TUESDAY_NOON = datetime(2026, 3, 10, 12, 30, tzinfo=HELSINKI)


class FakeClock:
    """A clock that stands still until moved."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TUESDAY_NOON)


@pytest.fixture
def teams_file(tmp_path: Path) -> Path:
    """The real teams.yml without its dated exceptions, so tests do not depend on the calendar."""
    document = yaml.safe_load(DEFAULT_TEAMS_FILE.read_text(encoding="utf-8"))
    for team in document["teams"].values():
        team["exceptions"] = []
    path = tmp_path / "teams.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def teams(teams_file: Path) -> Teams:
    return load_teams(teams_file)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new schema in TEST_DATABASE_URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'handoff.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL or run scripts/with_postgres.sh")
    base = normalise_database_url(base)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, future=True)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, teams_file: Path) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=database_url,
        teams_file=teams_file,
        api_token=API_TOKEN,
        maintenance_interval_s=0,
    )


@pytest.fixture
def client(db: Database, settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock)) as test_client:
        yield test_client


def add_agent(db: Database, username: str, team_ids: list[str], present: bool = True) -> Agent:
    """Create an agent in ``team_ids``, present in all of them unless ``present`` is false."""
    now = TUESDAY_NOON
    with db.writing() as session:
        agent = agents.create_agent(session, username, "correct horse battery", now, team_ids=team_ids)
        if present:
            for team_id in team_ids:
                agents.set_presence(session, agent, team_id, now)
    return agent


# -- a served app over real sockets (tests/handoff/live_support.py) -----------------------------------


@pytest.fixture
def rasa() -> FakeRasa:
    """The bot: answers "Botti: <text>" (a module may override it, e.g. with a delay)."""
    from tests.handoff.live_support import FakeRasa

    return FakeRasa()


@pytest.fixture
async def live(db: Database, settings: Settings, clock: FakeClock, rasa: FakeRasa) -> AsyncIterator[Live]:
    """The app served on a loopback port with the fake bot."""
    from tests.handoff.live_support import Live, build, serve

    app = build(settings, clock, rasa)
    async with serve(app) as url:
        yield Live(url, rasa, db, app)


@pytest.fixture
async def resident(live: Live) -> AsyncIterator[Resident]:
    """A resident's widget, connected."""
    from tests.handoff.live_support import Resident

    client = Resident(live.url)
    await client.connect()
    yield client
    await client.close()


# -- a real Redis (tests/redis_support.py) ------------------------------------------------------------


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on a free loopback port (skipped without one, except in CI)."""
    directory = tmp_path / "redis"
    directory.mkdir()
    with running_redis(directory) as server:
        yield server
