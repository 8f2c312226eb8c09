"""Shared state of the running app and FastAPI dependencies."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request

from handoff.api.cache import RenderedCache
from handoff.clock import Clock
from handoff.db import Database
from handoff.errors import Unauthorized
from handoff.gateway.events import Events
from handoff.settings import Settings
from opastin.teams import Teams


@dataclass(frozen=True)
class Services:
    """Everything a request handler needs: settings, teams, database, clock, token, caches, events."""

    settings: Settings
    teams: Teams
    database: Database
    clock: Clock
    api_token: str
    public_cache: RenderedCache
    events: Events = field(default_factory=Events)

    def now(self) -> datetime:
        """The current time from the injected clock."""
        return self.clock()


def get_services(request: Request) -> Services:
    """The app's :class:`Services`."""
    return request.app.state.services


def require_service_token(request: Request) -> None:
    """Accept only ``Authorization: Bearer <HANDOFF_API_TOKEN>``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = get_services(request).api_token
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("the bearer token is not valid")
