"""The administrators' page: accounts created, locked and changed from the desk, audited.

Each test fails if its protection is removed (the admin-only check, the CSRF
check, the socket drop on locking, the forced change of a handed-out password).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from handoff import agents
from handoff.app import create_app
from handoff.db import Database
from handoff.models import AuditEntry
from handoff.settings import Settings
from tests.handoff.conftest import TUESDAY_NOON, FakeClock, add_agent
from tests.handoff.live_support import PASSWORD, Agent, serve

ONCE = re.compile(r'<code class="once">([^<]+)</code>')


@pytest.fixture
async def url(db: Database, settings: Settings, clock: FakeClock) -> AsyncIterator[str]:
    with db.writing() as session:
        agents.create_agent(session, "paakayttaja", PASSWORD, TUESDAY_NOON, role="admin")
    add_agent(db, "maija", ["neuvola"])
    async with serve(create_app(replace(settings, agent_grace_s=0.2), clock)) as served:
        yield served


async def admin(url: str) -> Agent:
    desk = Agent(url)
    assert (await desk.login("paakayttaja")).status_code == 303
    return desk


def audit_actions(db: Database) -> list[tuple[str, str, str]]:
    with db.reading() as session:
        rows = session.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.object_id)).all()
    return [tuple(row) for row in rows]


async def test_only_administrators_see_and_use_it(url: str) -> None:
    maija = Agent(url)
    await maija.login("maija")
    assert (await maija.http.get("/desk/admin")).status_code == 403
    assert (await maija.post("/desk/admin/accounts/maija/activate")).status_code == 403
    assert "Käyttäjät</a>" not in (await maija.http.get("/desk")).text
    boss = await admin(url)
    page = await boss.http.get("/desk/admin")
    assert page.status_code == 200 and "maija" in page.text
    forged = await boss.http.post("/desk/admin/accounts/maija/deactivate", data={"csrf_token": "wrong"})
    assert forged.status_code == 403
    await maija.close()
    await boss.close()


async def test_a_new_account_gets_a_one_time_password_that_must_be_changed(url: str, db: Database) -> None:
    boss = await admin(url)
    created = await boss.http.post(
        "/desk/admin/accounts",
        data={
            "csrf_token": boss.csrf,
            "username": "liisa",
            "display_name": "Liisa",
            "team": ["neuvola", "katilot"],
        },
    )
    password = ONCE.search(created.text).group(1)
    assert "liisa" in created.text and len(password) >= 20
    assert password not in (await boss.http.get("/desk/admin")).text  # shown once
    liisa = Agent(url)
    assert (await liisa.login("liisa", password)).headers["location"] == "/desk/password"
    taken = await boss.http.post(
        "/desk/admin/accounts", data={"csrf_token": boss.csrf, "username": "liisa", "display_name": "Toinen"}
    )
    assert taken.status_code == 409 and "on jo käytössä" in taken.text
    assert ("paakayttaja", "agent.create", "liisa") in audit_actions(db)
    await boss.close()
    await liisa.close()


async def test_locking_an_account_drops_its_desk_at_once(url: str, db: Database) -> None:
    maija = Agent(url)
    await maija.login("maija")
    await maija.connect_socket()
    boss = await admin(url)
    assert (await boss.post("/desk/admin/accounts/maija/deactivate")).status_code == 200
    for _ in range(60):
        if not maija.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not maija.sio.connected
    assert (await Agent(url).login("maija")).status_code == 401
    assert (await boss.post("/desk/admin/accounts/paakayttaja/deactivate")).status_code == 403  # not oneself
    assert (await boss.post("/desk/admin/accounts/maija/activate")).status_code == 200
    assert (await Agent(url).login("maija")).status_code == 303
    actions = audit_actions(db)
    assert ("paakayttaja", "agent.deactivate", "maija") in actions
    assert ("paakayttaja", "agent.activate", "maija") in actions
    await boss.close()
    await maija.http.aclose()


async def test_team_changes_and_password_resets_from_the_desk(url: str, db: Database) -> None:
    boss = await admin(url)
    response = await boss.http.post(
        "/desk/admin/accounts/maija/teams",
        data={"csrf_token": boss.csrf, "team": ["katilot"]},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    with db.reading() as session:
        assert [m.team_id for m in agents.get_agent(session, "maija").memberships] == ["katilot"]
    reset = await boss.http.post("/desk/admin/accounts/maija/password", data={"csrf_token": boss.csrf})
    password = ONCE.search(reset.text).group(1)
    assert (await Agent(url).login("maija", PASSWORD)).status_code == 401
    assert (await Agent(url).login("maija", password)).headers["location"] == "/desk/password"
    assert ("paakayttaja", "agent.password_reset", "maija") in audit_actions(db)
    await boss.close()
