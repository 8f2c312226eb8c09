"""The resident's pages: Finnish, self-contained, and locked down by security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from handoff.app import create_app
from handoff.db import Database
from handoff.settings import Settings
from handoff.web import SiteConfigError, embed_headers, load_site
from opastin.teams import Teams
from tests.handoff.conftest import FakeClock

PAGES = ["/", "/tietosuoja", "/saavutettavuus", "/upotus"]
COUNTY = "https://www.kunta.example"


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


@pytest.fixture
def embedding(db: Database, settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """The app with ``HANDOFF_FRAME_ANCESTORS`` naming the county's site."""
    with TestClient(create_app(replace(settings, frame_ancestors=(COUNTY,)), clock)) as client:
        yield client


def frame_ancestors(response) -> str:
    """The ``frame-ancestors`` directive of the response's Content-Security-Policy."""
    return re.search(r"frame-ancestors ([^;]+)", response.headers["content-security-policy"]).group(1)


def test_only_the_widget_page_may_be_framed_and_only_by_the_listed_sites(embedding: TestClient) -> None:
    widget = embedding.get("/upotus")
    assert frame_ancestors(widget) == f"'self' {COUNTY}"
    assert "x-frame-options" not in widget.headers
    assert "default-src 'self'" in widget.headers["content-security-policy"]
    for path in ("/", "/tietosuoja", "/saavutettavuus", "/desk/login"):
        response = embedding.get(path)
        assert frame_ancestors(response) == "'none'", path
        assert response.headers["x-frame-options"] == "DENY", path


def test_without_frame_ancestors_the_widget_page_refuses_every_frame(client: TestClient) -> None:
    widget = client.get("/upotus")
    assert frame_ancestors(widget) == "'none'"
    assert widget.headers["x-frame-options"] == "DENY"


def test_a_site_not_listed_is_not_named_in_the_header() -> None:
    headers = embed_headers(("https://www.kunta.example", "http://127.0.0.1:8080"))
    ancestors = headers["Content-Security-Policy"].split("frame-ancestors ")[1].split(";")[0].split()
    assert ancestors == ["'self'", "https://www.kunta.example", "http://127.0.0.1:8080"]
    assert "https://evil.example" not in ancestors and "*" not in ancestors


def test_widget_page_is_the_chat_with_links_that_leave_the_frame(client: TestClient) -> None:
    html = client.get("/upotus").text
    assert 'id="opastin-chat"' in html and '<h1 id="chat-heading" tabindex="-1">' in html
    assert "Älä kirjoita henkilötunnustasi" in html and "site-header" not in html
    links = re.findall(r'<a href="(/[^"]*)"([^>]*)>', html)
    assert {href for href, _ in links} == {"/tietosuoja", "/saavutettavuus"}
    assert all('target="_blank"' in rest for _, rest in links)
    assert html.count('<span class="visually-hidden"> (avautuu uuteen välilehteen)</span></a>') == len(links)
    assert '<script src="/static/webchat/embed.js"></script>' in html


def test_loader_and_its_stylesheet_are_served_by_the_project(client: TestClient) -> None:
    loader = client.get("/static/webchat/loader.js")
    assert loader.status_code == 200 and "javascript" in loader.headers["content-type"]
    assert '"/upotus"' in loader.text and "Avaa chat" in loader.text and "Sulje chat" in loader.text
    assert client.get("/static/webchat/loader.css").status_code == 200
