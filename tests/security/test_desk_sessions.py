"""Desk accounts and sessions: a socket lives no longer than its session; passwords that
were handed out must be changed; deactivation and team changes take effect at once.

Each test fails if its protection is removed (the logout drop, the revalidation, the
password gate, the session ending of deactivation).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import socketio
from sqlalchemy import select

from handoff import agents
from handoff.app import HandoffApp, create_app
from handoff.db import Database
from handoff.models import AuditEntry
from handoff.settings import Settings
from tests.handoff.conftest import FakeClock, add_agent
from tests.handoff.live_support import PASSWORD, Agent, serve

NEW_PASSWORD = "a much better passphrase"


@pytest.fixture
async def served(db: Database, settings: Settings, clock: FakeClock) -> AsyncIterator[tuple[str, HandoffApp]]:
    app = create_app(replace(settings, agent_grace_s=0.2), clock)
    async with serve(app) as url:
        yield url, app


async def connected_agent(url: str, username: str = "maija") -> Agent:
    agent = Agent(url)
    assert (await agent.login(username)).status_code == 303
    await agent.connect_socket()
    return agent


async def disconnected(agent: Agent, timeout: float = 3) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while agent.sio.connected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    return not agent.sio.connected


async def test_logout_drops_the_desk_socket_at_once(db: Database, served) -> None:
    url, _app = served
    add_agent(db, "maija", ["neuvola"])
    agent = await connected_agent(url)
    other_device = await connected_agent(url)
    assert (await agent.post("/desk/logout")).status_code in (200, 303)
    assert await disconnected(agent)
    assert other_device.sio.connected  # only the session that logged out
    await other_device.close()
    await agent.http.aclose()


async def test_deactivation_ends_sessions_and_sockets(db: Database, served, clock: FakeClock) -> None:
    url, app = served
    add_agent(db, "maija", ["neuvola"])
    agent = await connected_agent(url)
    with db.writing() as session:
        agents.set_active(session, "maija", False, clock(), "cli:test")
    await app.gateway.desk_sockets.revalidate()  # what the maintenance task does every minute
    assert await disconnected(agent)
    assert (await agent.http.get("/desk", follow_redirects=False)).headers["location"] == "/desk/login"
    assert (await Agent(url).login("maija")).status_code == 401
    await agent.http.aclose()


async def test_an_expired_session_loses_its_socket(db: Database, served, clock: FakeClock) -> None:
    url, app = served
    add_agent(db, "maija", ["neuvola"])
    agent = await connected_agent(url)
    clock.advance(hours=12, seconds=1)
    await app.gateway.desk_sockets.revalidate()
    assert await disconnected(agent)
    await agent.http.aclose()


async def test_a_handed_out_password_must_be_changed_first(db: Database, served, clock: FakeClock) -> None:
    url, _app = served
    with db.writing() as session:
        agents.create_agent(
            session, "uusi", PASSWORD, clock(), team_ids=["neuvola"], must_change_password=True
        )
    agent = Agent(url)
    response = await agent.login("uusi")
    assert response.headers["location"] == "/desk/password"
    assert (await agent.http.get("/desk", follow_redirects=False)).headers["location"] == "/desk/password"
    csrf = agent.csrf  # from the password page the login led to
    assert (await agent.post("/desk/presence", team="neuvola", present="1")).status_code == 403
    with pytest.raises(socketio.exceptions.ConnectionError):
        await agent.connect_socket()  # no live desk before the change
    short = await agent.http.post(
        "/desk/password", data={"csrf_token": csrf, "current": PASSWORD, "new": "short", "repeat": "short"}
    )
    assert short.status_code == 400 and "vähintään 12" in short.text
    changed = await agent.http.post(
        "/desk/password",
        data={"csrf_token": csrf, "current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
    )
    assert changed.headers["location"] == "/desk?notice=password"
    assert "Salasana vaihdettiin" in (await agent.http.get(changed.headers["location"])).text
    assert (await agent.post("/desk/presence", team="neuvola", present="1")).status_code == 200
    assert (await Agent(url).login("uusi", NEW_PASSWORD)).status_code == 303
    assert (await Agent(url).login("uusi", PASSWORD)).status_code == 401
    await agent.close()


async def test_changing_the_password_ends_the_other_sessions(db: Database, served) -> None:
    url, _app = served
    add_agent(db, "maija", ["neuvola"])
    laptop = await connected_agent(url)
    phone = await connected_agent(url)
    response = await laptop.http.post(
        "/desk/password",
        data={"csrf_token": laptop.csrf, "current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert await disconnected(phone)
    assert (await phone.http.get("/desk", follow_redirects=False)).headers["location"] == "/desk/login"
    assert laptop.sio.connected
    await laptop.close()
    await phone.http.aclose()


def test_team_changes_end_presence_in_the_team_left_and_are_audited(db: Database, clock: FakeClock) -> None:
    add_agent(db, "maija", ["neuvola", "katilot"])
    with db.writing() as session:
        agents.set_teams(session, "maija", ["katilot"], clock(), "admin")
    with db.reading() as session:
        maija = agents.get_agent(session, "maija")
        assert [m.team_id for m in maija.memberships] == ["katilot"]
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "agent.teams")).scalar_one()
    assert entry.details == {"before": ["katilot", "neuvola"], "after": ["katilot"]}
