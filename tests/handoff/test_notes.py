"""Internal notes: professionals of the conversation's team only, never the resident or the bot; they follow a
transfer and go with the conversation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from handoff import agents, live, notes
from handoff.db import Database
from handoff.errors import Forbidden, InvalidInput
from handoff.models import AuditEntry, ConversationNote, Message, SessionMessage
from handoff.queue import enqueue
from handoff.retention import Places, purge
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON, FakeClock, add_agent
from tests.handoff.test_desk import login, post
from tests.handoff.test_learning import conversation, to_team


def handed_to_neuvola(db: Database, teams: Teams, clock: FakeClock) -> str:
    conversation_id = conversation(db, clock, ("vauva ei nuku", to_team("neuvola")))
    with db.writing() as session:
        enqueue(session, teams.get("neuvola"), conversation_id, "Vauvan uni", [], clock())
        live.accept(session, teams, agents.get_agent(session, "maija"), "neuvola", conversation_id, clock())
    return conversation_id


def test_a_note_is_for_professionals_only_and_follows_a_transfer(
    client: TestClient, db: Database, teams: Teams, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["neuvola"])
    add_agent(db, "pekka", ["perhekeskus"])
    conversation_id = handed_to_neuvola(db, teams, clock)
    csrf = login(client, "maija")
    written = "Äiti väsynyt, hetu 131052-308T, soita huomenna"
    assert post(client, f"/desk/conversations/{conversation_id}/notes", csrf, note=written).status_code == 200
    page = client.get(f"/desk/conversations/{conversation_id}").text
    assert "Äiti väsynyt, hetu ******-****, soita huomenna" in page and "131052-308T" not in page
    assert 'data-canned-text="Hei, olen neuvolan terveydenhoitaja.' in page  # the team's ready answers
    assert 'aria-keyshortcuts="Alt+1"' in page
    with db.reading() as session:
        said = list(session.execute(select(SessionMessage.text)).scalars())
        relayed = list(session.execute(select(Message.text)).scalars())
        audited = session.execute(
            select(AuditEntry.actor).where(AuditEntry.action == "conversation.note")
        ).all()
    assert not any(
        "väsynyt" in (text or "") for text in said + relayed
    )  # nothing reached the resident's side
    assert [tuple(row) for row in audited] == [("maija",)]

    with db.writing() as session:
        maija = agents.get_agent(session, "maija")
        live.propose_transfer(session, teams, maija, conversation_id, "perhekeskus", clock())
    with db.writing() as session:
        live.answer_transfer(session, teams, conversation_id, True, clock())
    client.post("/desk/logout", data={"csrf_token": csrf})
    login(client, "pekka")
    assert "Äiti väsynyt" in client.get(f"/desk/conversations/{conversation_id}").text  # the new team sees it


def test_only_the_teams_professionals_write_notes(db: Database, teams: Teams, clock: FakeClock) -> None:
    add_agent(db, "maija", ["neuvola"])
    add_agent(db, "pekka", ["perhekeskus"])
    conversation_id = handed_to_neuvola(db, teams, clock)
    with db.writing() as session, pytest.raises(Forbidden):
        notes.add_note(session, agents.get_agent(session, "pekka"), conversation_id, "kurkistus", clock())
    with db.writing() as session, pytest.raises(InvalidInput):
        notes.add_note(session, agents.get_agent(session, "maija"), conversation_id, "x" * 2001, clock())


def test_notes_are_purged_with_their_conversation(
    db: Database, teams: Teams, clock: FakeClock, tmp_path: Path
) -> None:
    add_agent(db, "maija", ["neuvola"])
    conversation_id = handed_to_neuvola(db, teams, clock)
    with db.writing() as session:
        maija = agents.get_agent(session, "maija")
        notes.add_note(session, maija, conversation_id, "muistiin", clock())
        live.end(session, maija, conversation_id, clock())
    later = TUESDAY_NOON + timedelta(days=teams.get("neuvola").retention_days + 1)
    purge(db, teams, Places(None, tmp_path / "outbox", tmp_path / "log"), later)
    with db.reading() as session:
        assert session.execute(select(func.count()).select_from(ConversationNote)).scalar_one() == 0
