"""FastAPI dependencies of the service API: the app's services and the service token check."""

from __future__ import annotations

import hmac

from fastapi import Request

from handoff.errors import Unauthorized
from handoff.runtime import Services


def get_services(request: Request) -> Services:
    """The app's :class:`Services`."""
    services: Services = request.app.state.services
    return services


def require_service_token(request: Request) -> None:
    """Accept only ``Authorization: Bearer <HANDOFF_API_TOKEN>``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = get_services(request).api_token
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("the bearer token is not valid")
