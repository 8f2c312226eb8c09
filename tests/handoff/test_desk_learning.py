"""The learning queue on the desk (/desk/opetus): who may use it, what it shows, how a review goes;
the editor role and the export on the command line."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from handoff import agents
from handoff.cli import main
from handoff.db import Database
from handoff.models import LearningItem
from tests.handoff.conftest import TUESDAY_NOON, FakeClock
from tests.handoff.live_support import PASSWORD
from tests.handoff.test_desk import login
from tests.handoff.test_learning import clarify, conversation, end, item_ids, not_understood, to_team


@pytest.fixture
def queue(db: Database, clock: FakeClock) -> list[int]:
    """An editor "ella", an agent, a manager, and three waiting messages (two alike)."""
    with db.writing() as session:
        agents.create_agent(session, "ella", PASSWORD, TUESDAY_NOON, role="editor")
        agents.create_agent(session, "maija", PASSWORD, TUESDAY_NOON, team_ids=["neuvola"])
        agents.create_agent(session, "esko", PASSWORD, TUESDAY_NOON, role="manager")
    end(
        db,
        clock,
        conversation(db, clock, ("hammas kolottaa, soita Mikolle", clarify()), ("/dental_care", None)),
    )
    end(db, clock, conversation(db, clock, ("hammas kolottaa kovasti", not_understood())))
    end(db, clock, conversation(db, clock, ("vauvan rokotus", clarify()), ("/greet", to_team("neuvola"))))
    return item_ids(db)


def test_an_editor_lands_on_the_learning_queue_and_sees_it_masked_and_grouped(
    client: TestClient, queue: list[int]
) -> None:
    login(client, "ella")
    page = client.get("/desk")
    assert page.url.path == "/desk/opetus" and page.status_code == 200
    body = html.unescape(page.text)
    assert "hammas kolottaa, soita [nimi]" in body and "Mikolle" not in body
    assert body.index("Samankaltaisia viestejä: 2") < body.index("Samankaltaisia viestejä: 1")
    assert "Asukkaan valitsema aihe: Hammashoito (dental_care)" in body
    assert "Botti ohjasi: " in body and "Odottaa käsittelyä: 3" in body
    assert 'href="/desk/opetus"' in page.text  # in the header
    filtered = html.unescape(client.get("/desk/opetus?lahde=clarified").text)
    assert "vauvan rokotus" in filtered and "kovasti" not in filtered
    assert client.get("/desk/tilastot").status_code == 403  # not the statistics
    assert client.get("/desk/teams/neuvola/contact-requests").status_code == 403  # nor residents' requests


@pytest.mark.parametrize("username", ["maija", "esko"])
def test_agents_and_managers_do_not_see_it(client: TestClient, queue: list[int], username: str) -> None:
    login(client, username)
    page = client.get("/desk/opetus")
    assert page.status_code == 403 and "käyttäjäroolillasi" in page.text
    assert 'href="/desk/opetus"' not in client.get("/desk", follow_redirects=True).text


def test_a_review_refuses_personal_data_then_approves_the_editors_words(
    client: TestClient, db: Database, queue: list[int]
) -> None:
    item_id = queue[0]
    csrf = login(client, "ella")
    fields = {"csrf_token": csrf, "intent": "dental_care", "decision": "approve"}
    refused = client.post(
        f"/desk/opetus/{item_id}", data={**fields, "example": "hammas kolottaa, soita [nimi]"}
    )
    assert refused.status_code == 400
    body = html.unescape(refused.text)
    assert "Esimerkkiä ei hyväksytty, koska siinä on vielä: peitetty kohta" in body
    assert 'aria-invalid="true"' in refused.text and "hammas kolottaa, soita [nimi]</textarea>" in body
    assert (
        client.post(
            f"/desk/opetus/{item_id}", data={**fields, "example": "x", "csrf_token": "wrong"}
        ).status_code
        == 403
    )
    done = client.post(
        f"/desk/opetus/{item_id}", data={**fields, "example": "hammasta kolottaa"}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/desk/opetus?notice=learning_approved"
    assert "Esimerkki on hyväksytty" in client.get(done.headers["location"]).text
    rejected = client.post(
        f"/desk/opetus/{queue[2]}",
        data={"csrf_token": csrf, "decision": "reject", "lahde": "clarified"},
        follow_redirects=False,
    )
    assert rejected.headers["location"] == "/desk/opetus?lahde=clarified&notice=learning_rejected"
    with db.reading() as session:
        rows = {row.id: row for row in session.execute(select(LearningItem)).scalars()}
    assert (rows[item_id].status, rows[item_id].example, rows[item_id].text) == (
        "approved",
        "hammasta kolottaa",
        None,
    )
    assert (rows[queue[2]].status, rows[queue[2]].text) == ("rejected", None)
    again = client.post(f"/desk/opetus/{item_id}", data={"csrf_token": csrf, "decision": "reject"})
    assert again.status_code == 404 and "jo käsitellyt" in again.text


def test_an_administrator_creates_an_editor_and_reviews_too(
    client: TestClient, db: Database, queue: list[int]
) -> None:
    with db.writing() as session:
        agents.create_agent(session, "paakayttaja", PASSWORD, TUESDAY_NOON, role="admin")
    csrf = login(client, "paakayttaja")
    assert client.get("/desk/opetus").status_code == 200
    fields = {"csrf_token": csrf, "username": "eero", "display_name": "Eero", "role": "editor"}
    refused = client.post("/desk/admin/accounts", data={**fields, "team": ["neuvola"]})
    assert refused.status_code == 400 and "Sisällöntuottaja ei kuulu tiimeihin" in refused.text
    created = client.post("/desk/admin/accounts", data=fields)
    assert created.status_code == 200 and '<span class="tag">sisällöntuottaja</span>' in created.text


def test_the_command_line_creates_an_editor_and_exports_the_approved_examples(
    tmp_path: Path, teams_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HANDOFF_TEAMS_FILE", str(teams_file))
    monkeypatch.setenv("HANDOFF_VAR_DIR", str(tmp_path / "var"))
    assert main(["migrate"]) == 0
    assert main(["create-editor", "ella", "--generate-password"]) == 0
    assert "Created editor 'ella'" in capsys.readouterr().out
    database = Database(url)
    clock = FakeClock(TUESDAY_NOON)
    try:
        end(database, clock, conversation(database, clock, ("kuuma poski", clarify())))
        with database.writing() as session:
            item = session.execute(select(LearningItem)).scalar_one()
            item.status, item.intent, item.example = "approved", "dental_care", "poski on turvonnut ja kuuma"
    finally:
        database.dispose()
    out = tmp_path / "learned.yml"
    assert main(["export-training", "--out", str(out)]) == 0
    assert "Added 1 approved examples" in capsys.readouterr().out
    assert "    - poski on turvonnut ja kuuma" in out.read_text(encoding="utf-8")
    assert main(["export-training", "--out", str(out)]) == 0
    assert "No new approved examples." in capsys.readouterr().out
