"""The start link and the callback through the app, against the fake provider: the happy path and every
refusal the resident can meet, each with its Finnish page; the listeners hear the outcome."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import text

from handoff.app import create_app
from handoff.db import Database
from handoff.identification import service
from handoff.identification.client import code_challenge
from handoff.identification.routes import BROWSER_COOKIE, JWKS_PATH, IdentificationEvent
from handoff.models import Conversation
from handoff.settings import Settings, SettingsError, parse_claims
from tests.handoff.conftest import TUESDAY_NOON, FakeClock
from tests.handoff.identification.support import (
    CLIENT_ID,
    ISSUER,
    MATTI,
    REDIRECT_URI,
    FakeProvider,
    oidc_client,
    provider_key,
)

NOT_ACCEPTED = "Tunnistuspalvelun vastausta ei voitu varmistaa"


@dataclasses.dataclass
class Harness:
    http: TestClient
    db: Database
    provider: FakeProvider
    events: list[IdentificationEvent]

    def ticket(self, conversation_id: str = "c1") -> str:
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

    def begin(self, conversation_id: str = "c1") -> dict[str, str]:
        response = self.http.get(service.start_path(self.ticket(conversation_id)), follow_redirects=False)
        assert response.status_code == 303, response.text
        assert response.headers["referrer-policy"] == "no-referrer"
        location = response.headers["location"]
        assert location.startswith(f"{ISSUER}/auth?")
        return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}

    def callback(self, **params: str) -> Any:
        return self.http.get(service.CALLBACK_PATH, params=params, follow_redirects=False)

    def stored(self) -> list[dict[str, Any]]:
        with self.db.reading() as session:
            rows = session.execute(text("SELECT * FROM conversation_identities")).mappings().all()
        return [dict(row) for row in rows]


@pytest.fixture
def harness(
    db: Database, settings: Settings, clock: FakeClock, client_keys_file: Path, provider: FakeProvider
) -> Iterator[Harness]:
    configured = dataclasses.replace(
        settings,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_client_key_file=client_keys_file,
        oidc_redirect_uri=REDIRECT_URI,
        identity_key="test-identity-key-" + "x" * 32,
    )
    app = create_app(configured, clock)
    events: list[IdentificationEvent] = []

    async def listen(event: IdentificationEvent) -> None:
        events.append(event)

    with TestClient(app) as http:
        identification = app.state.identification
        identification.client = oidc_client(provider)
        identification.add_listener(listen)
        yield Harness(http, db, provider, events)


def test_identification_binds_the_identity_and_tells_the_listeners(harness: Harness) -> None:
    request = harness.begin()
    assert request["code_challenge_method"] == "S256" and request["redirect_uri"] == REDIRECT_URI
    assert harness.http.cookies.get(BROWSER_COOKIE)
    harness.provider.id_token = harness.provider.encrypt(
        harness.provider.sign(harness.provider.claims(request["nonce"]))
    )
    response = harness.callback(state=request["state"], code="the-code")
    assert response.status_code == 200
    assert "Olet nyt tunnistautunut" in response.text and "Aino Testinen" in response.text
    assert "140385" not in response.text
    assert response.headers["cache-control"] == "no-store"
    (form,) = harness.provider.token_requests
    assert code_challenge(form["code_verifier"]) == request["code_challenge"]
    assert (form["code"], form["redirect_uri"]) == ("the-code", REDIRECT_URI)
    assert harness.events == [IdentificationEvent("c1", "identified", "Aino", "Testinen")]
    assert harness.events[0].display_name == "Aino Testinen"
    (row,) = harness.stored()
    assert row["conversation_id"] == "c1" and "140385" not in str(row) and row["provider"] == ISSUER
    assert BROWSER_COOKIE not in harness.http.cookies

    replay = harness.callback(state=request["state"], code="the-code")
    assert replay.status_code == 400 and "jo käsitelty" in replay.text
    assert len(harness.provider.token_requests) == 1


def test_a_forged_or_missing_state_is_refused_without_asking_the_provider(harness: Harness) -> None:
    request = harness.begin()
    for params in ({"state": "forged-state", "code": "x"}, {"code": "x"}):
        response = harness.callback(**params)
        assert response.status_code == 400 and "ei voitu yhdistää mihinkään keskusteluun" in response.text
    assert harness.provider.token_requests == [] and harness.events == [] and harness.stored() == []
    assert request["state"]


def test_a_callback_without_the_browsers_secret_is_refused(harness: Harness) -> None:
    request = harness.begin()
    harness.http.cookies.clear()
    response = harness.callback(state=request["state"], code="the-code")
    assert response.status_code == 400 and "samassa selaimessa" in response.text
    assert harness.provider.token_requests == []


def test_cancelling_at_the_provider_leaves_the_chat_anonymous(harness: Harness) -> None:
    request = harness.begin()
    response = harness.callback(state=request["state"], error="access_denied", error_description="aborted")
    assert response.status_code == 200 and "Keskeytit tunnistautumisen" in response.text
    assert harness.events == [IdentificationEvent("c1", "failed", reason="cancelled")]
    assert harness.provider.token_requests == [] and harness.stored() == []
    other = harness.begin()
    failed = harness.callback(state=other["state"], error="server_error")
    assert failed.status_code == 400 and NOT_ACCEPTED in failed.text
    assert harness.events[-1].reason == "provider_error"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "another-client"}, "wrong_audience"),
        ({"iss": "https://evil.example"}, "wrong_issuer"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired_token"),
        ({"nonce": "not-the-nonce"}, "wrong_nonce"),
        ({"key": "forged"}, "bad_signature"),
    ],
)
def test_a_bad_id_token_is_refused_with_a_clear_page(harness: Harness, changes: dict, reason: str) -> None:
    request = harness.begin()
    changes = dict(changes)
    key = provider_key(harness.provider.key.kid) if changes.pop("key", None) else None
    claims = harness.provider.claims(request["nonce"], **changes)
    harness.provider.id_token = harness.provider.sign(claims, key=key)
    response = harness.callback(state=request["state"], code="the-code")
    assert response.status_code == 400
    assert '<html lang="fi">' in response.text and NOT_ACCEPTED in response.text
    assert harness.events == [IdentificationEvent("c1", "failed", reason=reason)]
    assert harness.stored() == []


def test_a_different_person_in_the_same_conversation_is_refused_and_flagged(harness: Harness) -> None:
    first = harness.begin()
    harness.provider.id_token = harness.provider.sign(harness.provider.claims(first["nonce"]))
    assert harness.callback(state=first["state"], code="c").status_code == 200
    second = harness.begin()
    harness.provider.id_token = harness.provider.sign(harness.provider.claims(second["nonce"], person=MATTI))
    response = harness.callback(state=second["state"], code="c")
    assert response.status_code == 409 and "toisen henkilön tiedoilla" in response.text
    assert "Matti" not in response.text
    assert harness.events[-1] == IdentificationEvent("c1", "different_person")
    (row,) = harness.stored()
    assert (row["given_name"], row["family_name"]) == ("Aino", "Testinen")


def test_unknown_and_used_start_links(harness: Harness) -> None:
    unknown = harness.http.get(service.start_path("no-such-ticket"), follow_redirects=False)
    assert unknown.status_code == 404 and "Linkki ei toimi" in unknown.text
    ticket = harness.ticket()
    assert harness.http.get(service.start_path(ticket), follow_redirects=False).status_code == 303
    used = harness.http.get(service.start_path(ticket), follow_redirects=False)
    assert used.status_code == 400 and "toimii vain kerran" in used.text


def test_an_unreachable_provider_does_not_spend_the_ticket(harness: Harness) -> None:
    harness.provider.discovery_issuer = "https://somewhere.else"
    ticket = harness.ticket()
    response = harness.http.get(service.start_path(ticket), follow_redirects=False)
    assert response.status_code == 503 and "ei saatu yhteyttä" in response.text
    harness.provider.discovery_issuer = ISSUER
    assert harness.http.get(service.start_path(ticket), follow_redirects=False).status_code == 303


def test_the_services_public_keys_are_published_without_their_private_parts(
    harness: Harness, client_keys_file: Path
) -> None:
    published = harness.http.get(JWKS_PATH)
    assert published.status_code == 200 and "max-age" in published.headers["cache-control"]
    keys = published.json()["keys"]
    private = json.loads(client_keys_file.read_text(encoding="utf-8"))["keys"]
    assert sorted(key["kid"] for key in keys) == sorted(key["kid"] for key in private)
    assert {key["use"] for key in keys} == {"sig", "enc"}
    assert all(not {"d", "p", "q", "dp", "dq", "qi"} & set(key) for key in keys)  # public halves only


def test_without_an_issuer_there_are_no_identification_routes(client: TestClient) -> None:
    assert client.app.state.identification is None  # type: ignore[attr-defined]
    assert client.get(service.CALLBACK_PATH).status_code == 404
    assert client.get(JWKS_PATH).status_code == 404


def _teams_without_required(teams_file: Path, tmp_path: Path) -> Path:
    document = yaml.safe_load(teams_file.read_text(encoding="utf-8"))
    for team in document["teams"].values():
        team["identification"] = "optional"
    path = tmp_path / "teams-optional.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_production_refuses_the_test_provider_and_missing_issuer(
    settings: Settings, clock: FakeClock, tmp_path: Path, teams_file: Path, client_keys_file: Path
) -> None:
    production = {"identity_key": "p" * 40, "oidc_client_key_file": client_keys_file, "production": True}
    for issuer in (
        "http://127.0.0.1:8100",
        "http://localhost:8100",
        "https://localhost:8100",
        "http://idp.fi",
    ):
        with pytest.raises(SettingsError, match="OIDC_ISSUER"):
            dataclasses.replace(settings, oidc_issuer=issuer, oidc_client_id="opastin", **production)
    with pytest.raises(SettingsError, match="OPASTIN_IDENTITY_KEY"):
        dataclasses.replace(
            settings,
            production=True,
            oidc_issuer="https://idp.fi",
            oidc_client_id="o",
            oidc_client_key_file=client_keys_file,
        )
    real = dataclasses.replace(
        settings, oidc_issuer="https://tunnistus.kunta.fi", oidc_client_id="o", **production
    )
    assert real.identification_enabled
    # teams.yml has teams that require identification: no issuer, no start in production.
    with pytest.raises(SettingsError, match="require identification"):
        create_app(dataclasses.replace(settings, production=True), clock)
    optional_only = _teams_without_required(teams_file, tmp_path)
    assert create_app(dataclasses.replace(settings, production=True, teams_file=optional_only), clock)
    assert create_app(settings, clock)  # development starts without an issuer


def test_settings_from_the_environment(tmp_path: Path) -> None:
    env = {
        "HANDOFF_VAR_DIR": str(tmp_path),
        "OIDC_ISSUER": "https://tunnistus.kunta.fi/",
        "OIDC_CLIENT_ID": "opastin",
        "OIDC_CLIENT_KEY_FILE": str(tmp_path / "keys.json"),
        "OIDC_CLAIMS": "identity_code=urn:oid:1.2.246.21, given_name=first_name,family_name=sn",
        "OIDC_ENCRYPTED_ID_TOKENS": "1",
    }
    settings = Settings.from_env(env)
    assert settings.oidc_issuer == "https://tunnistus.kunta.fi"
    assert settings.oidc_claims == {
        "identity_code": "urn:oid:1.2.246.21",
        "given_name": "first_name",
        "family_name": "sn",
    }
    assert settings.oidc_encrypted_id_tokens and not settings.production
    with pytest.raises(SettingsError, match="OIDC_ISSUER"):
        Settings.from_env({**env, "OPASTIN_ENV": "production", "OIDC_ISSUER": "http://127.0.0.1:8100"})
    with pytest.raises(SettingsError, match="OIDC_CLIENT_ID"):
        Settings.from_env({**env, "OIDC_CLIENT_ID": ""})
    for claims in ("identity_code=hetu", "hetu=x,given_name=a,family_name=b", "identity_code"):
        with pytest.raises(SettingsError, match="OIDC_CLAIMS"):
            parse_claims(claims)
    assert Settings.from_env({"HANDOFF_VAR_DIR": str(tmp_path)}).identification_enabled is False


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"OIDC_ISSUER": "http://127.0.0.1:8100", "OIDC_CLIENT_ID": "opastin"}, "test identity provider"),
        ({}, "require identification"),
    ],
)
def test_the_production_service_refuses_to_start(tmp_path: Path, variables: dict, message: str) -> None:
    import os
    import subprocess
    import sys

    from opastin.processes import free_port

    env = {name: value for name, value in os.environ.items() if not name.startswith("OIDC_")}
    env.update(
        OPASTIN_ENV="production",
        HANDOFF_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'handoff.db'}",
        **variables,
    )
    command = [sys.executable, "-m", "handoff", "serve", "--host", "127.0.0.1", "--port", str(free_port())]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout


def test_tickets_codes_and_states_stay_out_of_the_access_log() -> None:
    import logging

    from handoff.identification.routes import RedactIdentificationPaths

    def logged(path: str) -> str:
        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("1.2.3.4", "GET", path, "1.1", 303),
            None,
        )
        RedactIdentificationPaths().filter(record)
        return record.getMessage()

    assert "secret-ticket" not in logged(service.start_path("secret-ticket"))
    assert "the-code" not in logged(f"{service.CALLBACK_PATH}?code=the-code&state=the-state")
    assert logged("/desk?x=1") == '1.2.3.4 - "GET /desk?x=1 HTTP/1.1" 303'


def test_every_outcome_and_refusal_has_a_finnish_page() -> None:
    from typing import get_args

    from handoff.identification.identity import FailureReason
    from handoff.identification.routes import PAGES, render_page

    for result in (*get_args(FailureReason), "identified", "same_person", "different_person"):
        page = render_page(result, "Aino Testinen")
        assert '<html lang="fi">' in page.body.decode() and result in PAGES
        assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in render_page("identified", "<script>x</script>").body.decode()
