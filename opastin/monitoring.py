"""Who may read a process's Prometheus metrics: the rule the service and the action server share.

``/metrics`` is not for the internet. A scrape is allowed when it comes
straight from this machine (a loopback address and no proxy header: a request
a local reverse proxy forwarded from elsewhere carries ``X-Forwarded-For``,
``Forwarded`` or ``X-Real-IP``), or when it carries ``Authorization: Bearer
<token>`` and a token is configured. Everything else gets a plain 404, as if
there were no such page.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    disable_created_metrics,
)

from opastin.tokens import same_token

PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1, an IPv4-mapped 127.x)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def scrape_allowed(client_host: str | None, headers: Mapping[str, str], token: str | None) -> bool:
    """Whether a request for ``/metrics`` may be answered.

    ``headers`` are the request's headers with lower-case names; ``token`` is
    the configured metrics token (``None``: only local scrapes).
    """
    if token and same_token(bearer_token(headers.get("authorization")), token):
        return True
    proxied = any(headers.get(name) for name in PROXY_HEADERS)
    return is_loopback(client_host) and not proxied


def process_registry() -> CollectorRegistry:
    """A registry of this process's own metrics with the process, platform and GC collectors;
    no ``*_created`` series (nothing uses them)."""
    disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus-client leaves it untyped
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry
