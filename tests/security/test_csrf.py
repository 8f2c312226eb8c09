"""Forged requests: every desk form needs the session's CSRF token (the login form a double-submit cookie).

Each test fails if its protection is removed.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from handoff.db import Database
from tests.handoff.conftest import add_agent
from tests.handoff.live_support import PASSWORD
from tests.handoff.test_desk import login, post


def test_login_without_the_form_token_is_refused(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    response = client.post(
        "/desk/login", data={"username": "maija", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403 and "opastin_desk=" not in response.headers.get("set-cookie", "")


def test_forms_without_the_csrf_token_are_refused(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"], present=False)
    login(client, "maija")
    response = client.post("/desk/presence", data={"team": "neuvola", "present": "1"})
    assert response.status_code == 403
    response = post(client, "/desk/presence", "wrong-token", team="neuvola", present="1")
    assert response.status_code == 403
    assert client.get("/api/public/teams").json()[2]["accepting"] is False
