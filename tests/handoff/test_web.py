"""The resident's pages: Finnish, self-contained, and locked down by security headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from handoff.web import SiteConfigError, load_site
from opastin.teams import Teams

PAGES = ["/", "/tietosuoja", "/saavutettavuus"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_finnish_and_send_a_strict_content_security_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert '<html lang="fi">' in response.text
    assert "Hätätilanteessa soita" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_another_host(client: TestClient, path: str) -> None:
    html = client.get(path).text
    sources = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources, "expected the page to load its own assets"
    assert all(source.startswith("/") for source in sources), sources


def test_chat_page_warns_about_identity_codes_before_the_first_message(client: TestClient) -> None:
    html = client.get("/").text
    notice = html.index("Älä kirjoita henkilötunnustasi")
    assert notice < html.index("data-chat-log")
    assert "poistetaan" in html and "päivän kuluttua" in html


def test_privacy_page_states_the_real_retention_times(client: TestClient, teams: Teams) -> None:
    html = client.get("/tietosuoja").text
    for team in teams:
        assert f"<li>{team.name}: {team.retention_days} päivää</li>" in html
    assert f"ohjattu mihinkään palveluun: {teams.retention.unrouted_days} päivää" in html
    assert f"säilytetään\n    {teams.retention.audit_days} päivää" in html
    assert "<em>Lopeta keskustelu</em>" in html and "30 minuutin" in html


def test_chat_page_names_the_button_that_ends_the_conversation(client: TestClient) -> None:
    html = client.get("/").text
    assert ">Lopeta keskustelu</button>" in html and "30 minuutin ajan" in html


def test_widget_and_socket_io_client_are_served_by_the_project(client: TestClient) -> None:
    assert "session_request" in client.get("/static/webchat/chat.js").text
    vendor = client.get("/static/vendor/socket.io.min.js")
    assert vendor.status_code == 200 and "Socket.IO" in vendor.text[:300]


def test_site_file_mistakes_name_the_key(tmp_path: Path) -> None:
    site = tmp_path / "site.yml"
    site.write_text("service_name: Opastin\naccessibility_email: ''\nstatement_date: 1.1.2027\n")
    with pytest.raises(SiteConfigError, match="'accessibility_email'"):
        load_site(site)
