"""The agent desk over HTTP: login, CSRF, rate limit, authorisation, escaping, audit, inbox."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from handoff import counting, stats
from handoff.db import Database
from handoff.models import AuditEntry, ContactRequest, Conversation, DailyCount
from tests.handoff.conftest import AUTH, add_agent
from tests.handoff.live_support import CSRF_FIELD, PASSWORD

SCRIPT = "<script>alert(1)</script>"


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token ('' if the login failed)."""
    form = client.get("/desk/login")
    token = CSRF_FIELD.search(form.text).group(1)
    response = client.post(
        "/desk/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    if response.status_code != 303:
        return ""
    return CSRF_FIELD.search(client.get("/desk").text).group(1)


def post(client: TestClient, path: str, csrf: str, **fields: str):
    return client.post(path, data={"csrf_token": csrf, **fields}, headers={"Accept": "application/json"})


def queue_resident(
    client: TestClient, conversation_id: str, team: str, text: str = "Milloin rokotus?"
) -> None:
    body = {
        "conversation_id": conversation_id,
        "team": team,
        "summary": f"Kysyy: {text}",
        "transcript": [{"sender": "resident", "text": text}],
    }
    assert client.post("/api/service/handoffs", json=body, headers=AUTH).status_code == 201


def test_login_page_is_finnish_and_sets_strict_cookies(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    page = client.get("/desk/login")
    assert '<html lang="fi">' in page.text and "Kirjaudu" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    token = CSRF_FIELD.search(page.text).group(1)
    response = client.post(
        "/desk/login",
        data={"username": "maija", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "opastin_desk=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_unauthenticated_desk_redirects_to_login(client: TestClient) -> None:
    assert client.get("/desk", follow_redirects=False).headers["location"] == "/desk/login"
    assert client.get("/desk/conversations/x", headers={"Accept": "application/json"}).status_code == 401


def test_logout_ends_the_session(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    csrf = login(client, "maija")
    cookie = client.cookies.get("opastin_desk")
    assert client.post("/desk/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("opastin_desk", cookie)
    assert client.get("/desk", follow_redirects=False).status_code == 303


def test_presence_queue_accept_and_conversation_view(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"], present=False)
    csrf = login(client, "maija")
    assert post(client, "/desk/presence", csrf, team="neuvola", present="1").json()["present"] is True
    queue_resident(client, "c1", "neuvola")
    queue_resident(client, "c2", "neuvola")
    desk = client.get("/desk").text
    assert "Jonossa 2" in desk and "Kysyy: Milloin rokotus?" in desk
    assert post(client, "/desk/accept", csrf, team="neuvola", conversation_id="c2").json() == {
        "conversation_id": "c2"
    }
    assert post(client, "/desk/accept", csrf, team="neuvola").json() == {"conversation_id": "c1"}
    assert post(client, "/desk/accept", csrf, team="neuvola").json() == {"conversation_id": None}
    view = client.get("/desk/conversations/c1")
    assert view.status_code == 200 and "Milloin rokotus?" in view.text and "Lopeta keskustelu" in view.text
    reply = post(client, "/desk/conversations/c1/messages", csrf, text="Hei, autan mielelläni.")
    assert reply.json()["message"]["text"] == "Hei, autan mielelläni."
    assert post(client, "/desk/conversations/c1/end", csrf).status_code == 200
    with db.reading() as session:
        assert session.get(Conversation, "c1").status == "ended"
        actions = [entry.action for entry in session.execute(select(AuditEntry)).scalars()]
    assert {
        "agent.login",
        "presence.on",
        "conversation.accept",
        "conversation.view",
        "conversation.end",
    } <= set(actions)


@pytest.mark.parametrize("path", ["/static/desk/desk.js", "/static/desk/desk.css"])
def test_desk_assets_are_served_by_the_project(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_contact_request_inbox_marks_who_handled_and_when(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    body = {
        "team": "neuvola",
        "topic": "Rokotukset",
        "message": SCRIPT,
        "contact_method": "phone",
        "contact_value": "040 123 4567",
        "consent": True,
    }
    reference = client.post("/api/service/contact-requests", json=body, headers=AUTH).json()["reference"]
    csrf = login(client, "maija")
    inbox = client.get("/desk/teams/neuvola/contact-requests").text
    assert reference in inbox and "Merkitse käsitellyksi" in inbox and SCRIPT not in inbox
    with db.reading() as session:
        request_id = session.execute(select(ContactRequest.id)).scalar_one()
    assert post(client, f"/desk/contact-requests/{request_id}/handled", csrf).status_code == 200
    inbox = client.get("/desk/teams/neuvola/contact-requests").text
    assert "Käsitelty 10.03. klo 12.30, käsittelijä maija" in inbox
    with db.reading() as session:
        request = session.get(ContactRequest, request_id)
        assert (request.status, request.handled_at is not None) == ("handled", True)


def test_the_inbox_orders_by_the_promised_reply_date_and_counts_replies_on_time(
    client: TestClient, db: Database, clock
) -> None:
    add_agent(db, "maija", ["neuvola"])

    def leave(topic: str) -> str:
        body = {"team": "neuvola", "topic": topic, "message": "Soittakaa", "contact_method": "phone",
                "contact_value": "040 123 4567", "consent": True}  # fmt: skip
        return client.post("/api/service/contact-requests", json=body, headers=AUTH).json()["reply_by"]

    assert leave("Ensimmäinen") == "2026-03-12"  # Tuesday: two working days
    clock.advance(days=1)
    assert leave("Toinen") == "2026-03-13"
    clock.advance(days=2)  # Friday 13 March: the first one is late
    csrf = login(client, "maija")
    inbox = client.get("/desk/teams/neuvola/contact-requests").text
    assert inbox.index("Ensimmäinen") < inbox.index("Toinen")
    assert "Vastattava viimeistään 12.3.2026" in inbox and inbox.count(">Myöhässä</span>") == 1
    with db.reading() as session:
        first, second = session.execute(select(ContactRequest.id).order_by(ContactRequest.id)).scalars()
    note = "Soitettu, hetu 131052-308T tarkistettu"
    assert post(client, f"/desk/contact-requests/{first}/handled", csrf, note=note).status_code == 200
    assert post(client, f"/desk/contact-requests/{second}/handled", csrf).status_code == 200
    inbox = client.get("/desk/teams/neuvola/contact-requests").text
    assert (
        "Muistiinpano:</strong> Soitettu, hetu ******-**** tarkistettu" in inbox and "Myöhässä" not in inbox
    )
    with db.reading() as session:
        counted = dict(
            session.execute(
                select(DailyCount.label, DailyCount.value).where(DailyCount.metric == "contact_handled")
            ).all()
        )
        march = (date(2026, 3, 1), date(2026, 3, 31))
        report = stats.build_report(stats.load_rows(session, *march), *march, ("neuvola",))
    assert counted == {"late": 1, "on_time": 1}
    assert (
        report.total.contacts_handled == stats.HIDDEN and report.total.contacts_on_time_share is None
    )  # < 5


def test_the_share_answered_by_the_promised_date_counts_known_promises_only(db: Database) -> None:
    from tests.handoff.conftest import TUESDAY_NOON

    promised = date(2026, 3, 10)
    with db.writing() as session:
        for reply_by in [promised] * 15 + [date(2026, 3, 9)] * 5 + [None] * 3:
            counting.count_contact_handled(session, "neuvola", reply_by, TUESDAY_NOON)
    with db.reading() as session:
        rows = stats.load_rows(session, promised, promised)
    figures = stats.build_report(rows, promised, promised, ("neuvola",)).total
    assert (figures.contacts_handled, figures.contacts_on_time_share) == (23, 0.75)


def test_the_team_finds_its_ended_chats_and_opening_one_is_audited(client: TestClient, db: Database) -> None:
    from datetime import timedelta

    from handoff.models import Message
    from tests.handoff.conftest import TUESDAY_NOON

    add_agent(db, "maija", ["neuvola"])
    add_agent(db, "pekka", ["terveysneuvo"])
    with db.writing() as session:
        for number, (team, status, summary, said) in enumerate(
            [
                ("neuvola", "ended", "Rokotusaika", "Milloin MPR-rokote annetaan?"),
                ("neuvola", "cancelled", "Imetys", "Rinta on kipeä imettäessä"),
                ("neuvola", "active", "Unikoulu", "Vauva ei nuku"),  # still live: not in the list
                ("terveysneuvo", "ended", "Resepti", "Rokotus ja resepti"),  # another team's
            ]
        ):
            moment = TUESDAY_NOON - timedelta(hours=number)
            session.add(Conversation(id=f"c{number}", team_id=team, status=status, summary=summary,
                                     transcript=[], created_at=moment, ended_at=moment))  # fmt: skip
            session.flush()
            session.add(
                Message(conversation_id=f"c{number}", sender="resident", text=said, created_at=moment)
            )
    login(client, "maija")
    listed = client.get("/desk/teams/neuvola/ended").text
    assert listed.index("Rokotusaika") < listed.index("Imetys") and "Unikoulu" not in listed
    assert "Resepti" not in listed
    found = client.get("/desk/teams/neuvola/ended", params={"q": "mpr-ROKOTE"}).text
    assert "Rokotusaika" in found and "Imetys" not in found  # found in a message, any case
    assert "Haulla ei löytynyt" in client.get("/desk/teams/neuvola/ended", params={"q": "100%_"}).text
    assert client.get("/desk/teams/terveysneuvo/ended").status_code == 403
    assert client.get("/desk/conversations/c0").status_code == 200
    with db.reading() as session:
        viewed = session.execute(
            select(AuditEntry.actor).where(
                AuditEntry.action == "conversation.view", AuditEntry.object_id == "c0"
            )
        ).scalars()
        assert list(viewed) == ["maija"]
