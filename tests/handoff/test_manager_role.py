"""The manager role: sees the statistics, belongs to no team; created by an administrator or the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import socketio
from fastapi.testclient import TestClient
from sqlalchemy import select

from handoff import agents
from handoff.app import create_app
from handoff.cli import main
from handoff.db import Database
from handoff.models import AuditEntry
from handoff.settings import Settings
from tests.handoff.conftest import TUESDAY_NOON, FakeClock
from tests.handoff.live_support import PASSWORD, Agent, serve
from tests.handoff.test_desk import login


def test_a_manager_belongs_to_no_team(db: Database) -> None:
    with db.writing() as session:
        with pytest.raises(agents.TeamsNotAllowed):
            agents.create_agent(session, "esko", PASSWORD, TUESDAY_NOON, role="manager", team_ids=["neuvola"])
    with db.writing() as session:
        agents.create_agent(session, "esko", PASSWORD, TUESDAY_NOON, role="manager")
    with db.writing() as session:
        with pytest.raises(agents.TeamsNotAllowed):
            agents.set_teams(session, "esko", ["neuvola"], TUESDAY_NOON, "paakayttaja")
        agents.set_teams(session, "esko", [], TUESDAY_NOON, "paakayttaja")
    with db.reading() as session:
        details = session.execute(
            select(AuditEntry.details).where(AuditEntry.action == "agent.create")
        ).scalar_one()
    assert details == {"role": "manager", "teams": []}  # the role granted is audited


def test_an_administrator_creates_a_manager_on_the_accounts_page(client: TestClient, db: Database) -> None:
    with db.writing() as session:
        agents.create_agent(session, "paakayttaja", PASSWORD, TUESDAY_NOON, role="admin")
    csrf = login(client, "paakayttaja")
    form = client.get("/desk/admin").text
    assert 'name="role" value="manager"' in form and "Esihenkilö – näkee vain tilastot" in form
    fields = {"csrf_token": csrf, "username": "esko", "display_name": "Esko Esihenkilö", "role": "manager"}
    refused = client.post("/desk/admin/accounts", data={**fields, "team": ["neuvola"]})
    assert refused.status_code == 400 and "Esihenkilö ei kuulu tiimeihin" in refused.text
    created = client.post("/desk/admin/accounts", data=fields)
    assert created.status_code == 200 and '<span class="tag">esihenkilö</span>' in created.text
    assert client.post("/desk/admin/accounts", data={**fields, "role": "admin"}).status_code == 400
    with db.reading() as session:
        assert agents.get_agent(session, "esko").role == "manager"
        actions = session.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.object_id)).all()
    assert ("paakayttaja", "agent.create", "esko") in [tuple(row) for row in actions]


def test_the_command_line_creates_a_manager(
    tmp_path: Path, teams_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HANDOFF_TEAMS_FILE", str(teams_file))
    monkeypatch.setenv("HANDOFF_VAR_DIR", str(tmp_path / "var"))
    assert main(["migrate"]) == 0
    assert main(["create-manager", "esko", "--display-name", "Esko", "--generate-password"]) == 0
    assert "Created manager 'esko'" in capsys.readouterr().out
    assert main(["set-teams", "esko", "--team", "neuvola"]) == 2
    assert "no teams" in capsys.readouterr().err
    database = Database(url)
    try:
        with database.reading() as session:
            manager = agents.get_agent(session, "esko")
            assert (manager.role, manager.memberships, manager.must_change_password) == ("manager", [], True)
    finally:
        database.dispose()


async def test_a_managers_desk_gets_no_live_updates(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    with db.writing() as session:
        agents.create_agent(session, "esko", PASSWORD, TUESDAY_NOON, role="manager")
    async with serve(create_app(settings, clock)) as url:
        esko = Agent(url)
        assert (await esko.login("esko")).headers["location"] == "/desk/tilastot"
        with pytest.raises(socketio.exceptions.ConnectionError):
            await esko.connect_socket()
        await esko.http.aclose()
