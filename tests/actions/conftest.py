"""Builders of rasa_sdk trackers for the action tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from rasa_sdk import Tracker

from actions.handoff_client import HandoffClient
from handoff.app import create_app
from handoff.db import Database
from handoff.settings import Settings
from opastin.places import DEFAULT_TEAMS_FILE
from tests.handoff.conftest import API_TOKEN, TUESDAY_NOON, FakeClock, add_agent


def user_event(
    text: str,
    intent: str,
    entities: list[dict[str, Any]] | None = None,
    ranking: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``user`` event as the Rasa server sends it to the action server."""
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "intent_ranking": ranking or [{"name": intent, "confidence": 1.0}],
    }
    return {"event": "user", "text": text, "parse_data": parse_data}


def make_tracker(*events: dict[str, Any], slots: dict[str, Any] | None = None) -> Tracker:
    """A tracker whose latest message is the last ``user`` event."""
    latest = next((e["parse_data"] for e in reversed(events) if e["event"] == "user"), {})
    return Tracker(
        sender_id="test",
        slots=slots or {},
        latest_message=latest,
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def tracker_for():
    """``tracker_for(text, intent, entities=..., ranking=..., earlier=[...], slots=...)``."""

    def build(
        text: str,
        intent: str,
        entities: list[dict[str, Any]] | None = None,
        ranking: list[dict[str, Any]] | None = None,
        earlier: list[dict[str, Any]] | None = None,
        slots: dict[str, Any] | None = None,
    ) -> Tracker:
        return make_tracker(*(earlier or []), user_event(text, intent, entities, ranking), slots=slots)

    return build


@dataclass
class Service:
    """A real handoff service app (SQLite) behind a :class:`HandoffClient`, at a controllable moment."""

    client: HandoffClient
    db: Database
    clock: FakeClock

    def factory(self) -> HandoffClient:
        """The client factory the actions take."""
        return self.client

    def agent(self, username: str, team: str, present: bool = True) -> None:
        """Add an agent of ``team``, present unless told otherwise."""
        add_agent(self.db, username, [team], present=present)


@pytest.fixture
def exceptions() -> dict[str, list[dict[str, Any]]]:
    """Dated exceptions per team id; a test overrides it with ``pytest.mark.parametrize``."""
    return {}


@pytest.fixture
def teams_file(tmp_path: Path, exceptions: dict[str, list[dict[str, Any]]]) -> Path:
    """The real teams.yml with only the test's dated exceptions, so tests do not depend on the calendar."""
    document = yaml.safe_load(DEFAULT_TEAMS_FILE.read_text(encoding="utf-8"))
    for team_id, team in document["teams"].items():
        team["exceptions"] = exceptions.get(team_id, [])
    path = tmp_path / "teams.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def service(tmp_path: Path, teams_file: Path) -> Iterator[Service]:
    """The handoff app on a fresh SQLite file, on Tuesday 10 March 2026 12:30 (see tests/handoff)."""
    database_url = f"sqlite:///{tmp_path / 'handoff.db'}"
    database = Database(database_url)
    database.create_all()
    settings = Settings(
        var_dir=tmp_path / "var",
        database_url=database_url,
        teams_file=teams_file,
        api_token=API_TOKEN,
        maintenance_interval_s=0,
        public_cache_s=0,
    )
    clock = FakeClock(TUESDAY_NOON)
    with TestClient(create_app(settings, clock)) as http:
        yield Service(HandoffClient(http, API_TOKEN), database, clock)
    database.dispose()


def down() -> HandoffClient:
    """A client of a service that does not answer (nothing listens on the port)."""
    return HandoffClient(httpx.Client(base_url="http://127.0.0.1:9", timeout=0.5), API_TOKEN)
