"""HTTP APIs: public status, the service API, authentication and bad input."""

import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from handoff.api.errors import status_of
from handoff.app import create_app
from handoff.db import Database
from handoff.errors import Forbidden, HandoffError, QueueFull, UnknownTeam
from handoff.models import Base
from handoff.settings import Settings
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.teams import load_teams
from tests.handoff.conftest import API_TOKEN, AUTH, FakeClock, add_agent

TEAM_IDS = load_teams(DEFAULT_TEAMS_FILE).ids

PUBLIC_KEYS = {"id", "name", "open", "opens_at", "closes_at", "accepting", "queue_length", "estimated_wait_s"}


def handoff(conversation_id: str = "c1", team: str = "terveysneuvo", **extra: object) -> dict:
    return {
        "conversation_id": conversation_id,
        "team": team,
        "summary": "Asiakas kysyy reseptin uusimisesta.",
        "transcript": [
            {"sender": "resident", "text": "Haluan uusia reseptin", "timestamp": 1773138600.5},
            {"sender": "bot", "text": "Ohjaan sinut terveysneuvoon."},
        ],
        **extra,
    }


def contact(**extra: object) -> dict:
    return {
        "team": "neuvola",
        "topic": "Rokotukset",
        "message": "Milloin lapsen seuraava rokotus on?",
        "contact_method": "phone",
        "contact_value": "040 123 4567",
        "consent": True,
        **extra,
    }


def row_counts(db: Database) -> dict[str, int]:
    with db.reading() as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_public_teams_without_login(client: TestClient, db: Database) -> None:
    teams = client.get("/api/public/teams").json()
    assert [team["id"] for team in teams] == list(TEAM_IDS)
    assert all(PUBLIC_KEYS <= set(team) for team in teams)
    by_id = {team["id"]: team for team in teams}
    health = by_id["terveysneuvo"]
    assert health["open"] is True
    assert health["opens_at"] == "2026-03-10T08:00:00+02:00"
    assert health["closes_at"] == "2026-03-10T15:00:00+02:00"
    assert (health["accepting"], health["queue_length"], health["estimated_wait_s"]) == (False, 0, None)
    midwives = by_id["katilot"]
    assert (midwives["open"], midwives["closes_at"]) == (False, None)
    assert midwives["opens_at"] == "2026-03-12T12:00:00+02:00"

    add_agent(db, "maija", ["terveysneuvo"])
    client.post("/api/service/handoffs", json=handoff(), headers=AUTH)
    health = {team["id"]: team for team in client.get("/api/public/teams").json()}["terveysneuvo"]
    assert (health["accepting"], health["queue_length"], health["estimated_wait_s"]) == (True, 1, 600)


def test_public_teams_follow_the_clock(client: TestClient, clock: FakeClock) -> None:
    clock.now = clock.now.replace(hour=15, minute=0)
    health = {team["id"]: team for team in client.get("/api/public/teams").json()}["terveysneuvo"]
    assert (health["open"], health["opens_at"], health["closes_at"]) == (
        False,
        "2026-03-11T08:00:00+02:00",
        None,
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {API_TOKEN}"},
        {"Authorization": "Bearer"},
    ],
)
def test_service_api_needs_the_token(client: TestClient, headers: dict) -> None:
    for method, path in [("GET", "/api/service/teams/neuvola"), ("POST", "/api/service/handoffs")]:
        response = client.request(method, path, headers=headers, json=handoff())
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert error_code(response) == "unauthorized"


def test_team_status(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    body = client.get("/api/service/teams/neuvola", headers=AUTH).json()
    assert body["identification"] == "required"
    assert body["phone"] == "015 211 8400"
    assert body["web_page"].startswith("https://")
    assert (body["open"], body["accepting"], body["agents_present"], body["capacity"]) == (True, True, 1, 3)
    assert body["closes_at"] == "2026-03-10T14:00:00+02:00"
    assert body["next_opening"] == "2026-03-11T12:00:00+02:00"
    assert body["next_opening_closes_at"] == "2026-03-11T14:00:00+02:00"
    assert body["estimated_wait_s"] == 300


def test_unknown_team_is_404(client: TestClient) -> None:
    for response in (
        client.get("/api/service/teams/hammaslaakari", headers=AUTH),
        client.post("/api/service/handoffs", json=handoff(team="hammaslaakari"), headers=AUTH),
        client.post("/api/service/contact-requests", json=contact(team="hammaslaakari"), headers=AUTH),
    ):
        assert response.status_code == 404
        assert error_code(response) == "unknown_team"


def test_handoff_lifecycle(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["terveysneuvo"])
    created = client.post("/api/service/handoffs", json=handoff(), headers=AUTH)
    assert created.status_code == 201
    assert created.json() == {
        "conversation_id": "c1",
        "team": "terveysneuvo",
        "status": "queued",
        "position": 1,
        "queue_length": 1,
        "estimated_wait_s": 300,
        "identification": "required",
    }
    duplicate = client.post("/api/service/handoffs", json=handoff(), headers=AUTH)
    assert (duplicate.status_code, error_code(duplicate)) == (409, "already_queued")
    client.post("/api/service/handoffs", json=handoff("c2"), headers=AUTH)
    assert client.get("/api/service/handoffs/c2", headers=AUTH).json()["position"] == 2
    left = client.delete("/api/service/handoffs/c1", headers=AUTH)
    assert (left.status_code, left.json()["status"], left.json()["position"]) == (200, "cancelled", None)
    assert client.get("/api/service/handoffs/c2", headers=AUTH).json()["position"] == 1
    again = client.delete("/api/service/handoffs/c1", headers=AUTH)
    assert (again.status_code, error_code(again)) == (409, "not_queued")
    missing = client.get("/api/service/handoffs/nobody", headers=AUTH)
    assert (missing.status_code, error_code(missing)) == (404, "unknown_conversation")
    assert client.delete("/api/service/handoffs/nobody", headers=AUTH).status_code == 404


def test_handoff_refused_when_the_team_cannot_take_it(client: TestClient, db: Database) -> None:
    nobody = client.post("/api/service/handoffs", json=handoff(), headers=AUTH)
    assert (nobody.status_code, error_code(nobody)) == (409, "nobody_present")
    add_agent(db, "maija", ["terveysneuvo", "katilot"])
    closed = client.post("/api/service/handoffs", json=handoff(team="katilot"), headers=AUTH)
    assert (closed.status_code, error_code(closed)) == (409, "team_closed")
    for index in range(3):
        assert (
            client.post("/api/service/handoffs", json=handoff(f"c{index}"), headers=AUTH).status_code == 201
        )
    full = client.post("/api/service/handoffs", json=handoff("c9"), headers=AUTH)
    assert (full.status_code, error_code(full)) == (409, "queue_full")


def test_contact_request(client: TestClient) -> None:
    response = client.post("/api/service/contact-requests", json=contact(), headers=AUTH)
    assert response.status_code == 201
    body = response.json()
    assert body["reference"].startswith("YP-2026-")
    assert body["reply_within_workdays"] == 2
    assert body["reply_by"] == "2026-03-12"
    assert body["reply_promise"] == "Otamme sinuun yhteyttä kahden arkipäivän kuluessa."
    email = contact(contact_method="email", contact_value="maija@example.fi", conversation_id="c1")
    assert client.post("/api/service/contact-requests", json=email, headers=AUTH).status_code == 201


def test_a_retried_contact_request_is_stored_once(client: TestClient) -> None:
    first = client.post("/api/service/contact-requests", json=contact(request_id="req-0001"), headers=AUTH)
    again = client.post("/api/service/contact-requests", json=contact(request_id="req-0001"), headers=AUTH)
    other = client.post("/api/service/contact-requests", json=contact(request_id="req-0002"), headers=AUTH)
    assert first.json() == again.json()
    assert other.json()["reference"] != first.json()["reference"]


def test_feedback(client: TestClient) -> None:
    response = client.post("/api/service/feedback", json={"rating": 5, "comment": "Kiitos!"}, headers=AUTH)
    assert response.status_code == 201 and response.json()["id"] >= 1
    only_rating = client.post(
        "/api/service/feedback", json={"rating": 1, "conversation_id": "c1"}, headers=AUTH
    )
    assert only_rating.status_code == 201


BAD_REQUESTS = [
    ("/api/service/handoffs", handoff(team=5)),
    ("/api/service/handoffs", handoff(conversation_id="has spaces")),
    ("/api/service/handoffs", handoff(conversation_id="x" * 129)),
    ("/api/service/handoffs", handoff(summary="x" * 1001)),
    ("/api/service/handoffs", handoff(transcript=[{"sender": "agent", "text": "hei"}])),
    ("/api/service/handoffs", handoff(transcript="not a list")),
    ("/api/service/handoffs", handoff(unexpected=True)),
    ("/api/service/handoffs", {"team": "terveysneuvo"}),
    ("/api/service/handoffs", ["not", "an", "object"]),
    ("/api/service/contact-requests", contact(consent=False)),
    ("/api/service/contact-requests", contact(consent="yes")),
    ("/api/service/contact-requests", contact(contact_method="email", contact_value="not-an-email")),
    ("/api/service/contact-requests", contact(contact_value="soita minulle")),
    ("/api/service/contact-requests", contact(message="   ")),
    ("/api/service/contact-requests", contact(contact_method="pigeon")),
    ("/api/service/feedback", {"rating": 6}),
    ("/api/service/feedback", {"rating": 0}),
    ("/api/service/feedback", {"rating": "5"}),
    ("/api/service/feedback", {"rating": True}),
    ("/api/service/feedback", {"rating": 3, "comment": "x" * 2001}),
    ("/api/service/feedback", {}),
]


def test_bad_input_is_422_and_changes_nothing(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["terveysneuvo"])
    before = row_counts(db)
    for path, body in BAD_REQUESTS:
        response = client.post(path, json=body, headers=AUTH)
        assert response.status_code == 422, (path, body, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["details"] and all({"field", "message"} <= set(item) for item in error["details"])
    for raw in (b"{not json", b"", b'{"rating": 5,}'):
        response = client.post(
            "/api/service/feedback", content=raw, headers={**AUTH, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, raw
        assert error_code(response) in {"malformed_json", "invalid_request"}
    assert error_code(client.post("/api/service/feedback", content=b"{x", headers=AUTH)) == "malformed_json"
    assert row_counts(db) == before


def test_oversized_bodies_are_413(client: TestClient, db: Database) -> None:
    before = row_counts(db)
    big = {"rating": 5, "comment": "x" * (1024 * 1024)}
    response = client.post("/api/service/feedback", json=big, headers=AUTH)
    assert (response.status_code, error_code(response)) == (413, "payload_too_large")

    def chunks():
        for _ in range(100):
            yield b"x" * 1024

    chunked = client.post("/api/service/feedback", content=chunks(), headers=AUTH)
    assert chunked.status_code == 413
    unauthenticated = client.post("/api/service/feedback", content=b"x" * 70000)
    assert unauthenticated.status_code == 413
    assert row_counts(db) == before


def test_unknown_routes_and_methods_are_json(client: TestClient) -> None:
    missing = client.get("/api/nothing")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    wrong_method = client.put("/api/public/teams")
    assert (wrong_method.status_code, error_code(wrong_method)) == (405, "method_not_allowed")


def test_error_mapping() -> None:
    assert status_of(Forbidden("no")) == 403
    assert status_of(QueueFull("full")) == 409
    assert status_of(UnknownTeam("x")) == 404
    assert status_of(HandoffError("generic")) == 400


def test_waiting_residents_are_told_when_the_team_closes(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["terveysneuvo"])
    app = create_app(replace(settings, maintenance_interval_s=0.02), clock)
    with TestClient(app) as client:
        assert client.post("/api/service/handoffs", json=handoff(), headers=AUTH).status_code == 201
        clock.now = clock.now.replace(hour=15, minute=0)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status = client.get("/api/service/handoffs/c1", headers=AUTH).json()["status"]
            if status == "closed":
                break
            time.sleep(0.02)
        assert status == "closed"
