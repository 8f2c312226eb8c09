"""Who may read ``/metrics``: local scrapes that came through no proxy, or the metrics token."""

from __future__ import annotations

import pytest

from opastin.monitoring import bearer_token, is_loopback, scrape_allowed

TOKEN = "metrics-token-0123456789"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        None,
        "",
        "10.0.0.5",
        "192.168.1.20",
        "8.8.8.8",
        "::ffff:8.8.8.8",
        "2001:db8::1",
        "testclient",
        "localhost.evil.example",
    ],
)
def test_other_addresses(host: str | None) -> None:
    assert not is_loopback(host)


def test_a_local_scrape_is_allowed_without_a_token() -> None:
    assert scrape_allowed("127.0.0.1", {}, None)
    assert scrape_allowed("::1", {}, TOKEN)


@pytest.mark.parametrize("header", ["x-forwarded-for", "forwarded", "x-real-ip"])
def test_a_request_a_local_proxy_forwarded_is_not_local(header: str) -> None:
    assert not scrape_allowed("127.0.0.1", {header: "203.0.113.7"}, None)


def test_a_remote_scrape_needs_the_token() -> None:
    assert not scrape_allowed("10.0.0.5", {}, None)
    assert not scrape_allowed("10.0.0.5", {"authorization": f"Bearer {TOKEN}"}, None)  # no token configured
    assert not scrape_allowed("10.0.0.5", {}, TOKEN)
    assert not scrape_allowed("10.0.0.5", {"authorization": f"Bearer {TOKEN}x"}, TOKEN)
    assert not scrape_allowed("10.0.0.5", {"authorization": TOKEN}, TOKEN)
    assert scrape_allowed("10.0.0.5", {"authorization": f"Bearer {TOKEN}"}, TOKEN)
    assert scrape_allowed(
        "127.0.0.1", {"authorization": f"bearer {TOKEN}", "x-forwarded-for": "1.2.3.4"}, TOKEN
    )


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer  ", None),
        ("Basic abc", None),
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
