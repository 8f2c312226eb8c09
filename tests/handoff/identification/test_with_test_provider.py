"""End to end against the real test identity provider (npm oidc-provider in idp/, started with node):
ticket → start → login at the provider → callback → identity stored encrypted, the listeners told.

The provider's pages are driven over HTTP as a browser would; the service runs in process. With and
without encrypted ID tokens (JWE), as Finnish identity brokers send them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from handoff.app import create_app
from handoff.db import Database
from handoff.identification import service
from handoff.identification.routes import IdentificationEvent
from handoff.identification.vault import load_vault
from handoff.models import Conversation
from handoff.settings import Settings
from tests.handoff.conftest import TUESDAY_NOON, FakeClock
from tests.handoff.identification.support import log_in_at_test_provider, running_test_provider

pytestmark = pytest.mark.e2e

SERVICE = "http://testserver"
REDIRECT_URI = f"{SERVICE}{service.CALLBACK_PATH}"
PERSONS = json.loads((Path(__file__).resolve().parents[3] / "idp" / "persons.json").read_text("utf-8"))[
    "persons"
]


@pytest.fixture(params=[False, True], ids=["signed", "encrypted"])
def encrypted(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def issuer(client_keys_file: Path, encrypted: bool, tmp_path: Path) -> Iterator[str]:
    with running_test_provider(client_keys_file, [REDIRECT_URI], encrypted, tmp_path / "idp.log") as url:
        yield url


@dataclasses.dataclass
class Stack:
    http: TestClient
    db: Database
    settings: Settings
    events: list[IdentificationEvent]

    def open_conversation(self, conversation_id: str = "c1") -> str:
        with self.db.writing() as session:
            if session.get(Conversation, conversation_id) is None:
                session.add(
                    Conversation(
                        id=conversation_id,
                        team_id="neuvola",
                        status="active",
                        transcript=[],
                        created_at=TUESDAY_NOON,
                        summary="",
                    )
                )
                session.flush()
            return service.issue_ticket(session, conversation_id, TUESDAY_NOON, actor="maija")

    def identify(self, person: str | None, conversation_id: str = "c1") -> tuple[str, object]:
        """Ticket → start → the provider → the callback URL it sent back, and the service's page."""
        start = self.http.get(
            service.start_path(self.open_conversation(conversation_id)), follow_redirects=False
        )
        assert start.status_code == 303, start.text
        back = log_in_at_test_provider(start.headers["location"], REDIRECT_URI, person)
        parts = urlsplit(back)
        return back, self.http.get(f"{parts.path}?{parts.query}", follow_redirects=False)


@pytest.fixture
def stack(
    db: Database, settings: Settings, clock: FakeClock, client_keys_file: Path, issuer: str, encrypted: bool
) -> Iterator[Stack]:
    configured = dataclasses.replace(
        settings,
        oidc_issuer=issuer,
        oidc_client_id="opastin",
        oidc_client_key_file=client_keys_file,
        oidc_encrypted_id_tokens=encrypted,
    )
    events: list[IdentificationEvent] = []

    async def listen(event: IdentificationEvent) -> None:
        events.append(event)

    app = create_app(configured, clock)
    with TestClient(app, base_url=SERVICE) as http:
        app.state.identification.add_listener(listen)
        yield Stack(http, db, configured, events)


def test_a_resident_identifies_and_the_code_is_stored_encrypted(stack: Stack) -> None:
    started = time.monotonic()
    callback_url, page = stack.identify("aino")
    took = time.monotonic() - started
    assert "code=" in callback_url and "state=" in callback_url
    assert page.status_code == 200, stack.events
    assert "Olet nyt tunnistautunut" in page.text and "Aino Testinen" in page.text
    assert stack.events == [IdentificationEvent("c1", "identified", "Aino", "Testinen")]
    with stack.db.reading() as session:
        rows = session.execute(text("SELECT * FROM conversation_identities")).mappings().all()
    (row,) = rows
    assert "140385-911S" not in json.dumps({key: str(value) for key, value in row.items()})
    assert "140385" not in str(row["identity_code"])
    assert load_vault(stack.settings).decrypt(row["identity_code"], "c1") == "140385-911S"
    assert (row["given_name"], row["family_name"]) == ("Aino", "Testinen")
    assert took < 10  # what identification adds to a chat with the test provider (here about a second)

    # The provider's redirect replayed: refused, nothing changes.
    parts = urlsplit(callback_url)
    replay = stack.http.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    assert replay.status_code == 400 and "jo käsitelty" in replay.text
    assert len(stack.events) == 1


def test_cancelling_at_the_provider_and_a_different_person_later(stack: Stack) -> None:
    callback_url, page = stack.identify(None)
    assert parse_qs(urlsplit(callback_url).query)["error"] == ["access_denied"]
    assert page.status_code == 200 and "Keskeytit tunnistautumisen" in page.text
    assert stack.events == [IdentificationEvent("c1", "failed", reason="cancelled")]

    assert stack.identify("aino")[1].status_code == 200
    assert stack.identify("aino")[1].status_code == 200  # the same person again
    different = stack.identify("matti")[1]
    assert different.status_code == 409 and "toisen henkilön" in different.text
    assert [event.outcome for event in stack.events] == [
        "failed",
        "identified",
        "same_person",
        "different_person",
    ]


def test_every_test_person_has_a_valid_made_up_identity_code(stack: Stack) -> None:
    from stdnum.fi import hetu

    for index, person in enumerate(PERSONS):
        assert 900 <= int(person["identity_code"][7:10]) <= 999  # never given to real persons
        assert hetu.is_valid(person["identity_code"], allow_temporary=True)
        conversation_id = f"p{index}"
        page = stack.identify(person["id"], conversation_id)[1]
        assert page.status_code == 200, page.text
        with stack.db.reading() as session:
            stored = service.identity_of(session, load_vault(stack.settings), conversation_id)
        assert stored is not None and stored.identity_code == person["identity_code"]
        assert stored.display_name == f"{person['given_name']} {person['family_name']}"


def test_the_running_service_identifies_and_logs_neither_secrets_nor_the_person(
    client_keys_file: Path, tmp_path: Path
) -> None:
    """The service as a real process (uvicorn, real cookies over HTTP) with the test provider."""
    import os
    import subprocess
    import sys
    from datetime import UTC, datetime

    import httpx

    from handoff.db import migrate
    from opastin.processes import free_port, wait_until_answering

    port = free_port()
    service_url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{tmp_path / 'handoff.db'}"
    migrate(database_url)
    database = Database(database_url)
    redirect_uri = f"{service_url}{service.CALLBACK_PATH}"
    log = tmp_path / "handoff.log"
    with running_test_provider(client_keys_file, [redirect_uri], True, tmp_path / "idp.log") as issuer:
        env = {name: value for name, value in os.environ.items() if not name.startswith("OIDC_")}
        env.update(
            DATABASE_URL=database_url,
            HANDOFF_VAR_DIR=str(tmp_path / "var"),
            HANDOFF_MAINTENANCE_INTERVAL_S="0",
            OIDC_ISSUER=issuer,
            OIDC_CLIENT_ID="opastin",
            OIDC_CLIENT_KEY_FILE=str(client_keys_file),
            OIDC_ENCRYPTED_ID_TOKENS="1",
        )
        command = [sys.executable, "-m", "handoff", "serve", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
            try:
                wait_until_answering(f"{service_url}/livez", [process], timeout_s=60)
                with database.writing() as session:
                    session.add(
                        Conversation(
                            id="live-1",
                            team_id="neuvola",
                            status="queued",
                            transcript=[],
                            created_at=TUESDAY_NOON,
                            summary="",
                        )
                    )
                    session.flush()
                    ticket = service.issue_ticket(session, "live-1", datetime.now(UTC))  # the service's clock
                with httpx.Client(base_url=service_url, follow_redirects=False, timeout=10) as browser:
                    started = browser.get(service.start_path(ticket))
                    assert started.status_code == 303, started.text
                    back = log_in_at_test_provider(started.headers["location"], redirect_uri, "sanna")
                    page = browser.get(back)
                    assert page.status_code == 200, page.text
                    assert "Sanna Äijälä" in page.text
                    assert browser.get(back).status_code == 400  # replayed
            finally:
                process.terminate()
                process.wait(timeout=15)
    with database.reading() as session:
        stored = service.identity_of(
            session,
            load_vault(Settings(var_dir=tmp_path / "var", database_url="", teams_file=tmp_path)),
            "live-1",
        )
        raw = session.execute(text("SELECT identity_code FROM conversation_identities")).scalar_one()
    database.dispose()
    assert stored is not None and stored.identity_code == "230690-943A" and "230690" not in raw
    logged = log.read_text(encoding="utf-8", errors="replace")
    assert "/tunnistautuminen/aloita/…" in logged and "/tunnistautuminen/paluu" in logged  # it was logged
    code = parse_qs(urlsplit(back).query)["code"][0]
    for secret in (ticket, code, "230690", "Sanna", "Äijälä"):
        assert secret not in logged, secret
