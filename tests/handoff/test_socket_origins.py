"""Which pages may open the chat socket: the service's own origin, plus ``HANDOFF_ALLOWED_ORIGINS``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from handoff.app import create_app
from handoff.db import Database
from handoff.settings import Settings
from tests.handoff.conftest import FakeClock

OWN = "http://testserver"  # the origin of the pages TestClient is served
COUNTY = "https://www.kunta.example"


def handshake(client: TestClient, origin: str, **headers: str) -> int:
    """The status of a socket.io handshake (polling) sent from a page of ``origin``."""
    response = client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": origin, **headers})
    return response.status_code


@pytest.fixture
def app_with_origins(db: Database, settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, allowed_origins=(COUNTY,)), clock)) as client:
        yield client


def test_by_default_only_the_services_own_pages_open_the_socket(client: TestClient) -> None:
    assert handshake(client, OWN) == 200
    assert handshake(client, COUNTY) == 400


def test_allowed_origins_are_added_to_the_services_own_origin(app_with_origins: TestClient) -> None:
    assert handshake(app_with_origins, OWN) == 200
    assert handshake(app_with_origins, COUNTY) == 200
    assert handshake(app_with_origins, "https://kunta.example") == 400
    assert handshake(app_with_origins, "https://evil.example") == 400


def test_own_origin_behind_a_tls_proxy_stays_allowed(app_with_origins: TestClient) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "opastin.example"}
    assert handshake(app_with_origins, "https://opastin.example", **forwarded) == 200
    assert handshake(app_with_origins, "https://other.example", **forwarded) == 400
