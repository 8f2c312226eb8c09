"""A county adds an eleventh team by editing content alone: no code, no retraining.

A temporary team catalogue adds Päivystysapu (open day and night) and a
temporary route table points an existing intent at it. The real handoff
service and the real action server run as processes with those two files
only; the team then shows in the public status list, on an agent's desk, and
in the bot's answer to a resident (with its live availability).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from devtools.stack import always_open_hours, child_environment, handoff_server
from handoff import agents
from handoff.db import Database, migrate
from opastin.places import DEFAULT_ROUTES_FILE, DEFAULT_TEAMS_FILE
from opastin.processes import free_port, wait_until_answering
from opastin.validate import validate
from tests.handoff.live_support import Agent

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "new-team-token-0123456789"
ACTION_TOKEN = "new-team-action-token-0123"
NEW_TEAM = "paivystysapu"
REPOINTED_INTENT = "health_centre_appointment"


def catalogue_with_a_new_team(path: Path) -> None:
    document = yaml.safe_load(DEFAULT_TEAMS_FILE.read_text(encoding="utf-8"))
    document["teams"][NEW_TEAM] = {
        **document["teams"]["terveysneuvo"],
        "name": "Päivystysapu",
        "chat": "Päivystysavun chat",
        "keywords": ["paivystysapu", "paivystysavu"],
        "description": "Neuvoo kiireellisissä terveysasioissa ympäri vuorokauden.",
        **always_open_hours(),
        "phone": "116 117",
        "web_page": "/paivystysapu",
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def routes_pointing_at_it(path: Path) -> None:
    document = yaml.safe_load(DEFAULT_ROUTES_FILE.read_text(encoding="utf-8"))
    document["intents"][REPOINTED_INTENT]["target"] = NEW_TEAM
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The service and the action server, both reading only the county's edited files."""
    tmp = tmp_path_factory.mktemp("county")
    teams_file, routes_file = tmp / "teams.yml", tmp / "routes.yml"
    catalogue_with_a_new_team(teams_file)
    routes_pointing_at_it(routes_file)
    database_url = f"sqlite:///{tmp / 'handoff.db'}"
    migrate(database_url)
    database = Database(database_url)
    with database.writing() as session:
        known = ("palveluneuvo", NEW_TEAM)
        agents.create_agent(
            session,
            "paivi",
            "correct horse battery",
            datetime.now(UTC),
            team_ids=[NEW_TEAM],
            known_teams=known,
        )
    database.dispose()
    env = {
        "DATABASE_URL": database_url,
        "HANDOFF_TEAMS_FILE": str(teams_file),
        "OPASTIN_ROUTES_FILE": str(routes_file),
        "HANDOFF_VAR_DIR": str(tmp),
        "HANDOFF_API_TOKEN": TOKEN,
    }
    with (tmp / "service.log").open("wb") as log, handoff_server(env, output=log) as (service_url, _):
        port = free_port()
        actions_env = child_environment(
            {**env, "HANDOFF_URL": service_url, "ACTION_SERVER_TOKEN": ACTION_TOKEN}
        )
        with (tmp / "actions.log").open("wb") as actions_log:
            action_server = subprocess.Popen(
                [sys.executable, "-m", "actions", "--port", str(port)],
                cwd=ROOT, env=actions_env, stdout=actions_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                actions_url = f"http://127.0.0.1:{port}"
                wait_until_answering(f"{actions_url}/health", [action_server])
                yield {
                    "service": service_url,
                    "actions": actions_url,
                    "teams": str(teams_file),
                    "routes": str(routes_file),
                }
            finally:
                action_server.terminate()
                action_server.wait(timeout=15)


def test_the_edited_files_agree(county: dict[str, str]) -> None:
    report = validate(Path(county["teams"]), Path(county["routes"]))
    assert report.problems == []


def test_the_public_status_list_shows_it(county: dict[str, str]) -> None:
    teams = {team["id"]: team for team in httpx.get(f"{county['service']}/api/public/teams").json()}
    assert len(teams) == 11
    assert teams[NEW_TEAM]["name"] == "Päivystysapu" and teams[NEW_TEAM]["open"] is True


async def test_an_agent_of_the_team_sees_it_on_the_desk(county: dict[str, str]) -> None:
    agent = Agent(county["service"])
    try:
        await agent.login("paivi")
        await agent.present(NEW_TEAM)
        desk = await agent.http.get("/desk")
        assert desk.status_code == 200
        assert f'id="team-{NEW_TEAM}">Päivystysapu</h2>' in desk.text
        assert "Chat on auki." in desk.text
    finally:
        await agent.close()


def ask_the_bot(actions_url: str, text: str) -> list[dict[str, object]]:
    """What the action server answers when the resident's message has the re-pointed intent."""
    parse_data = {
        "text": text,
        "intent": {"name": REPOINTED_INTENT, "confidence": 1.0},
        "entities": [],
        "intent_ranking": [{"name": REPOINTED_INTENT, "confidence": 1.0}],
    }
    tracker = {
        "sender_id": "new-team-test",
        "slots": {},
        "latest_message": parse_data,
        "events": [{"event": "user", "text": text, "parse_data": parse_data}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    body = {"next_action": "action_route", "sender_id": "new-team-test", "tracker": tracker, "domain": {}}
    request = urllib.request.Request(
        f"{actions_url}/webhook?token={ACTION_TOKEN}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["responses"]


def rendered(reply: dict[str, object], domain: dict[str, object]) -> str:
    """A reply as the resident reads it: a domain response filled with the action's values."""
    if reply.get("text"):
        return str(reply["text"])
    responses = domain["responses"]
    assert isinstance(responses, dict)
    template = responses[reply["response"]][0]["text"]
    return str(template).format(**{key: value for key, value in reply.items() if isinstance(value, str)})


def test_the_bot_routes_the_intent_to_it_with_its_live_status(county: dict[str, str]) -> None:
    replies = ask_the_bot(county["actions"], "tarvitsen ajan lääkärille")
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    said = " ".join(
        rendered(reply, domain) for reply in replies if reply.get("text") or reply.get("response")
    )
    routes = [reply["custom"]["route"] for reply in replies if "route" in (reply.get("custom") or {})]
    assert routes and routes[0]["type"] == "team" and routes[0]["target"] == NEW_TEAM
    assert "Tässä asiassa sinua auttaa Päivystysapu." in said
    assert "Päivystysavun chat on nyt auki" in said  # the service's live status of the new team
    assert "116 117" in said  # its phone, from the catalogue
    buttons = [button["title"] for reply in replies for button in reply.get("buttons") or []]
    assert "Kyllä, jonoon" in buttons
