"""Consultation rooms between professionals over real sockets (handoff/rooms.py, handoff/desk/rooms.py):
a team's room for its members only, the common room for every team, live messages and presence,
identity codes masked, every view and message audited without the text, CSRF, length, roles, and
the retention purge."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from handoff import agents
from handoff.db import Database
from handoff.desk import STATIC_DIR
from handoff.models import AuditEntry, RoomMessage
from handoff.retention import purge_handoff_tables
from handoff.rooms import COMMON, MAX_MESSAGE_LENGTH
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON, add_agent
from tests.handoff.live_support import PASSWORD, Agent, Live

TEAM = "neuvola"
OTHER_TEAM = "mielenterveys_paihde"
ROOMS = "/desk/huoneet"
WITH_CODE = "Kenellä on kokemusta tästä? Asukas 131052-308T kysyi kotikäynnistä."
MASKED = "Kenellä on kokemusta tästä? Asukas ******-**** kysyi kotikäynnistä."


class RoomEvents:
    """The ``room_message`` and ``room_presence`` events one desk socket receives."""

    def __init__(self, agent: Agent) -> None:
        assert agent.sio is not None
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        for name in ("room_message", "room_presence"):
            agent.sio.on(name, self._recorder(name), namespace="/desk")

    def _recorder(self, name: str) -> Any:
        return lambda data: self.events.put_nowait((name, data))

    async def next(self, timeout: float = 5) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def none_within(self, seconds: float = 0.3) -> bool:
        await asyncio.sleep(seconds)
        return self.events.empty()


async def desk_of(live: Live, username: str, team: str | None) -> tuple[Agent, RoomEvents]:
    """A professional of ``team``, present, logged in with the desk socket open."""
    add_agent(live.db, username, [team] if team else [])
    agent = Agent(live.url)
    assert (await agent.login(username)).status_code == 303
    await agent.connect_socket()
    return agent, RoomEvents(agent)


def stored_texts(db: Database) -> list[str]:
    with db.reading() as session:
        return list(session.execute(select(RoomMessage.text)).scalars())


def room_audit(db: Database) -> list[tuple[str, str, str, dict[str, Any]]]:
    with db.reading() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.object_id, AuditEntry.details)
            .where(AuditEntry.action.like("room.%"))
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_team_room_reaches_its_members_at_once_and_nobody_else(live: Live) -> None:
    maija, _ = await desk_of(live, "maija", TEAM)
    liisa, at_liisa = await desk_of(live, "liisa", TEAM)
    psyk, at_psyk = await desk_of(live, "psyk", OTHER_TEAM)
    room = f"{ROOMS}/{TEAM}"

    listed = (await psyk.http.get(ROOMS)).text
    assert f'href="{ROOMS}/{COMMON}"' in listed and f'href="{ROOMS}/{OTHER_TEAM}"' in listed
    assert f'href="{room}"' not in listed  # another team's room is not offered ...
    assert (await psyk.http.get(room)).status_code == 403  # ... nor opened
    assert (await psyk.post(f"{room}/viestit", text="Saanko tulla?")).status_code == 403

    written = await maija.post(f"{room}/viestit", text=WITH_CODE)
    assert written.status_code == 200
    message = written.json()["message"]
    assert message["text"] == MASKED and message["who"] == "maija"
    assert await at_liisa.next() == ("room_message", {"room": TEAM, "message": message})  # at once
    assert await at_psyk.none_within()  # another team's professional hears nothing of it
    assert stored_texts(live.db) == [MASKED]

    page = (await liisa.http.get(room)).text
    assert MASKED in page and "131052" not in page
    presence = page[page.index('id="room-present-heading"') :]
    assert "liisa" in presence and "maija" in presence and "psyk" not in presence
    for desk in (maija, liisa, psyk):
        await desk.close()


async def test_both_teams_meet_in_the_common_room_with_live_presence(live: Live) -> None:
    maija, at_maija = await desk_of(live, "maija", TEAM)
    psyk, at_psyk = await desk_of(live, "psyk", OTHER_TEAM)
    room = f"{ROOMS}/{COMMON}"

    page = (await maija.http.get(room)).text
    assert "<h1" in page and "Yhteinen huone" in page
    presence = page[page.index('id="room-present-heading"') :]
    assert "maija" in presence and "psyk" in presence

    question = await maija.post(f"{room}/viestit", text="Onko kenelläkään vapaata hetkeä?")
    assert question.status_code == 200
    assert await at_psyk.next() == ("room_message", {"room": COMMON, "message": question.json()["message"]})
    assert (await at_maija.next())[1]["message"] == question.json()["message"]  # one's own come too
    answer = await psyk.post(f"{room}/viestit", text="Minulla on, soita.")
    assert await at_maija.next() == ("room_message", {"room": COMMON, "message": answer.json()["message"]})

    # psyk marks themselves away: maija's room page hears it and the list no longer has psyk.
    assert (await psyk.post("/desk/presence", team=OTHER_TEAM, present="0")).status_code == 200
    assert await at_maija.next() == ("room_presence", {"room": COMMON})
    present = (await maija.http.get(f"{room}/paikalla")).text
    assert "maija" in present and "psyk" not in present
    assert (await psyk.http.get(f"{ROOMS}/{TEAM}/paikalla")).status_code == 403
    await maija.close()
    await psyk.close()


async def test_managers_editors_and_professionals_without_a_team_enter_no_room(live: Live) -> None:
    with live.db.writing() as session:
        agents.create_agent(session, "esko", PASSWORD, TUESDAY_NOON, role="manager")
        agents.create_agent(session, "eeva", PASSWORD, TUESDAY_NOON, role="editor")
        agents.create_agent(session, "aino", PASSWORD, TUESDAY_NOON, role="admin")
    add_agent(live.db, "tiimiton", [])
    for username in ("esko", "eeva"):
        other = Agent(live.url)
        await other.login(username)
        for path in (ROOMS, f"{ROOMS}/{COMMON}", f"{ROOMS}/{TEAM}"):
            assert (await other.http.get(path)).status_code == 403, (username, path)
        assert (await other.post(f"{ROOMS}/{COMMON}/viestit", text="Hei")).status_code == 403
        assert "/desk/huoneet" not in (await other.http.get("/desk/password")).text  # no link either
        await other.http.aclose()

    teamless = Agent(live.url)
    await teamless.login("tiimiton")
    assert "Sinulla ei ole huoneita" in (await teamless.http.get(ROOMS)).text
    assert (await teamless.http.get(f"{ROOMS}/{COMMON}")).status_code == 403
    admin = Agent(live.url)
    await admin.login("aino")
    assert (await admin.post(f"{ROOMS}/{COMMON}/viestit", text="Huomenna huoltokatko.")).status_code == 200
    assert (await admin.http.get(f"{ROOMS}/{TEAM}")).status_code == 403  # not a member of the team
    assert stored_texts(live.db) == ["Huomenna huoltokatko."]
    await teamless.http.aclose()
    await admin.http.aclose()


async def test_views_and_messages_are_audited_without_the_text_and_checked(live: Live) -> None:
    maija, _ = await desk_of(live, "maija", TEAM)
    room = f"{ROOMS}/{TEAM}"
    assert (await maija.http.get(room)).status_code == 200
    assert (await maija.post(f"{room}/viestit", text=WITH_CODE)).status_code == 200

    no_token = await maija.http.post(f"{room}/viestit", data={"text": "Ilman tunnistetta"})
    assert no_token.status_code == 403
    too_long = await maija.post(f"{room}/viestit", text="a" * (MAX_MESSAGE_LENGTH + 1))
    assert too_long.status_code == 400
    assert (await maija.post(f"{room}/viestit", text="   ")).status_code == 400
    assert (await maija.post(f"{ROOMS}/olematon/viestit", text="Hei")).status_code == 404
    longest = await maija.post(f"{room}/viestit", text="b" * MAX_MESSAGE_LENGTH)
    assert longest.status_code == 200
    assert stored_texts(live.db) == [MASKED, "b" * MAX_MESSAGE_LENGTH]

    assert room_audit(live.db) == [
        ("maija", "room.view", TEAM, {}),
        ("maija", "room.message", TEAM, {}),
        ("maija", "room.message", TEAM, {}),
    ]
    without_js = await maija.http.post(f"{room}/viestit", data={"csrf_token": maija.csrf, "text": "Lomake"})
    assert without_js.status_code == 303 and without_js.headers["location"] == f"{room}#room-latest"
    await maija.close()


async def test_room_pages_carry_no_inline_script_and_the_script_inserts_text_only(live: Live) -> None:
    maija, _ = await desk_of(live, "maija", TEAM)
    await maija.post(f"{ROOMS}/{TEAM}/viestit", text="<script>alert(1)</script>")
    for path in (ROOMS, f"{ROOMS}/{TEAM}"):
        html = (await maija.http.get(path)).text
        assert not re.search(r"<script(?![^>]*\ssrc=)", html) and "style=" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (await maija.http.get(f"{ROOMS}/{TEAM}")).text
    script = (STATIC_DIR / "rooms.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script)
    assert "textContent" in script
    await maija.close()


def test_the_retention_purge_removes_old_room_messages_and_keeps_new_ones(db: Database, teams: Teams) -> None:
    now = TUESDAY_NOON
    team_days = teams.get(TEAM).retention_days
    shortest = min(team.retention_days for team in teams)
    assert shortest < team_days  # the common room keeps the shortest of the teams' times
    written = {
        ("team, old", TEAM, team_days + 1),
        ("team, new", TEAM, team_days - 1),
        ("common, old", COMMON, shortest + 1),
        ("common, new", COMMON, shortest - 1),
        ("team gone from the catalogue", "lakkautettu", shortest + 1),
    }
    with db.writing() as session:
        for text, room, days in written:
            created = now - timedelta(days=days)
            session.add(RoomMessage(room=room, author="maija", text=text, created_at=created))
    with db.writing() as session:
        removed = purge_handoff_tables(session, teams, now)
    assert removed["room_messages"] == 3
    assert sorted(stored_texts(db)) == ["common, new", "team, new"]
