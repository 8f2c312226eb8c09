"""Over TLS the browser is told to stay on HTTPS, and desk cookies are Secure.

Each test fails if its protection is removed (the HSTS middleware, the Secure flag).
"""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from handoff.app import create_app
from handoff.db import Database
from handoff.settings import Settings
from tests.handoff.conftest import FakeClock, add_agent
from tests.handoff.live_support import CSRF_FIELD, PASSWORD


def test_https_responses_carry_hsts_and_plain_http_does_not(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    app = create_app(settings, clock)
    with TestClient(app, base_url="https://chat.example.fi") as https:
        assert https.get("/").headers["strict-transport-security"] == "max-age=31536000"
    with TestClient(app, base_url="http://localhost") as plain:
        assert "strict-transport-security" not in plain.get("/").headers


def test_behind_a_tls_proxy_hsts_and_secure_cookies_are_always_on(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["neuvola"])
    with TestClient(
        create_app(replace(settings, secure_cookies=True), clock), base_url="http://proxied"
    ) as client:
        page = client.get("/desk/login")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        assert "secure" in page.headers["set-cookie"].lower()
        token = CSRF_FIELD.search(page.text).group(1)
        response = client.post(
            "/desk/login",
            data={"username": "maija", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert "secure" in response.headers["set-cookie"].lower()
