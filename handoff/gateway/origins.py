"""Which pages may open a socket: the service's own origin, plus ``HANDOFF_ALLOWED_ORIGINS``.

python-engineio accepts either its default (only the origin the request was
sent to) or a list that replaces it. :func:`socket_origins` keeps the default
and adds the list, with the same rule for the service's own origin as
python-engineio's default (``Host`` and, behind a proxy, ``X-Forwarded-Proto``
and ``X-Forwarded-Host``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

OriginCheck = Callable[[str | None, Mapping[str, Any]], bool]


def own_origins(environ: Mapping[str, Any]) -> set[str]:
    """The origins a request was sent to, as python-engineio's default sees them."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        return set()
    forwarded_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
    forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
    return {f"{scheme}://{host}", f"{forwarded_scheme}://{forwarded_host}"}


def socket_origins(allowed: tuple[str, ...]) -> OriginCheck | None:
    """python-engineio's ``cors_allowed_origins``: ``None`` (its default) or its default plus ``allowed``."""
    if not allowed:
        return None
    extra = frozenset(allowed)

    def is_allowed(origin: str | None, environ: Mapping[str, Any]) -> bool:
        return origin in extra or origin in own_origins(environ)

    return is_allowed
