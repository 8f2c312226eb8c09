"""The situation now (/desk/tilanne): colleagues present and their chats, the queue and its longest wait."""

from __future__ import annotations

import html
from datetime import timedelta

from fastapi.testclient import TestClient

from handoff import agents, live
from handoff.db import Database
from handoff.queue import enqueue
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON, FakeClock, add_agent
from tests.handoff.live_support import PASSWORD
from tests.handoff.test_desk import login


def test_agents_see_their_teams_and_managers_every_team_without_residents(
    client: TestClient, db: Database, teams: Teams, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["neuvola"])
    add_agent(db, "liisa", ["neuvola", "terveysneuvo"])
    with db.writing() as session:
        agents.create_agent(session, "esko", PASSWORD, TUESDAY_NOON, role="manager")
        agents.create_agent(session, "ella", PASSWORD, TUESDAY_NOON, role="editor")
        for number, minutes_ago in enumerate((12, 3, 1)):
            moment = TUESDAY_NOON - timedelta(minutes=minutes_ago)
            enqueue(session, teams.get("neuvola"), f"c{number}", f"Salainen aihe {number}", [], moment)
        live.accept(session, teams, agents.get_agent(session, "liisa"), "neuvola", "c0", clock())
    csrf = login(client, "maija")
    page = html.unescape(client.get("/desk/tilanne").text)
    assert "Tilannekuva nyt" in page and "Terveysneuvo" not in page  # only maija's team
    assert '<th scope="row">liisa</th><td>1</td>' in page and "maija (sinä)</th><td>0</td>" in page
    assert "<dt>Jonossa</dt><dd>2</dd>" in page and "<dt>Pisin odotus nyt</dt><dd>3 min</dd>" in page
    assert "Salainen aihe" not in page
    fragment = client.get("/desk/tilanne?osa=taulukko").text
    assert "<html" not in fragment and "Jonossa" in fragment
    client.post("/desk/logout", data={"csrf_token": csrf})

    csrf = login(client, "esko")
    page = html.unescape(client.get("/desk/tilanne").text)
    assert "Terveysneuvo" in page and "Kätilöt" in page and "Salainen aihe" not in page
    assert 'href="/desk/tilanne"' in page
    client.post("/desk/logout", data={"csrf_token": csrf})
    login(client, "ella")
    assert client.get("/desk/tilanne").status_code == 403
