"""Cross-team access: an agent sees and touches only their own teams' conversations and requests.

Each test fails if its protection is removed.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from handoff.db import Database
from handoff.models import ContactRequest, Conversation
from tests.handoff.conftest import AUTH, add_agent
from tests.handoff.test_desk import login, post, queue_resident


def test_an_agent_cannot_open_or_touch_another_teams_conversation(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    add_agent(db, "pekka", ["perhekeskus"])
    queue_resident(client, "other-team", "perhekeskus", "perheen asia")
    csrf = login(client, "maija")
    page = client.get("/desk/conversations/other-team")
    assert page.status_code == 403 and "perheen asia" not in page.text
    assert client.get("/desk/conversations/no-such-id").status_code == 403
    assert post(client, "/desk/accept", csrf, team="perhekeskus").status_code == 403
    assert post(client, "/desk/accept", csrf, team="neuvola", conversation_id="other-team").status_code == 403
    assert post(client, "/desk/conversations/other-team/messages", csrf, text="hei").status_code == 403
    assert post(client, "/desk/conversations/other-team/end", csrf).status_code == 403
    assert "perheen asia" not in client.get("/desk").text
    assert client.get("/desk/teams/perhekeskus/contact-requests").status_code == 403
    with db.reading() as session:
        assert session.get(Conversation, "other-team").status == "queued"


def test_a_colleague_cannot_write_in_someone_elses_chat(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    add_agent(db, "liisa", ["neuvola"])
    queue_resident(client, "c1", "neuvola")
    csrf = login(client, "maija")
    post(client, "/desk/accept", csrf, team="neuvola")
    client.cookies.clear()
    csrf = login(client, "liisa")
    assert client.get("/desk/conversations/c1").status_code == 200
    assert post(client, "/desk/conversations/c1/messages", csrf, text="hei").status_code == 403


def test_another_teams_contact_request_cannot_be_handled(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    body = {
        "team": "perhekeskus",
        "topic": "Perheasia",
        "message": "Soittakaa",
        "contact_method": "phone",
        "contact_value": "040 123 4567",
        "consent": True,
    }
    client.post("/api/service/contact-requests", json=body, headers=AUTH)
    csrf = login(client, "maija")
    with db.reading() as session:
        request_id = session.execute(select(ContactRequest.id)).scalar_one()
    assert post(client, f"/desk/contact-requests/{request_id}/handled", csrf).status_code == 404
