"""Endpoints for operators: liveness, readiness and Prometheus metrics (docs/monitoring.md).

* ``GET /livez``: the process answers (no database call).
* ``GET /readyz`` (and ``GET /healthz``, its older name): the database answers
  within :data:`READY_TIMEOUT_S`; otherwise 503 ``{"status": "unavailable", ...}``.
* ``GET /metrics``: the Prometheus text format, only for a scrape from this
  machine or with ``Authorization: Bearer <HANDOFF_METRICS_TOKEN>``
  (:func:`opastin.monitoring.scrape_allowed`); anyone else gets the ordinary 404.
  Besides the process-wide counters of :mod:`handoff.metrics`, each scrape reads
  the queues, live chats and agents present per team from the database.

:class:`HttpMetricsMiddleware` counts every HTTP request by method, route
template and status class, never by its raw path (paths can hold ids).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handoff import metrics
from handoff.api.deps import get_services
from handoff.queue import TeamCounts, team_counts
from handoff.runtime import Services
from opastin.monitoring import scrape_allowed

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 3.0
UNMATCHED = "unmatched"


def database_answers(services: Services) -> None:
    """``SELECT 1`` on the service's database; raises if it does not answer."""
    with services.database.reading() as session:
        session.execute(text("SELECT 1"))


async def ready(services: Services) -> bool:
    """Whether the database answers within :data:`READY_TIMEOUT_S` seconds."""
    try:
        await asyncio.wait_for(run_in_threadpool(database_answers, services), READY_TIMEOUT_S)
    except Exception as error:  # any failure means "not ready"; its message may quote data
        logger.warning("readiness: the database did not answer (%s)", type(error).__name__)
        return False
    return True


@dataclass(frozen=True)
class ScrapeGauges:
    """Gauges read at one scrape: per team from the database, and this process's resident sockets."""

    team_ids: tuple[str, ...]
    counts: TeamCounts | None
    resident_sockets: int

    def collect(self) -> Iterator[Metric]:
        """The gauges as Prometheus metric families (a collector for ``generate_latest``)."""
        database = GaugeMetricFamily(
            "opastin_database_up", "Whether the database answered the scrape's query (1) or not (0)."
        )
        database.add_metric([], 0 if self.counts is None else 1)
        yield database
        sockets = GaugeMetricFamily(
            "opastin_resident_sockets", "Residents' chat sockets connected to this process."
        )
        sockets.add_metric([], self.resident_sockets)
        yield sockets
        if self.counts is None:
            return
        for name, documentation, values in (
            ("opastin_queue_length", "Residents waiting in the team's queue.", self.counts.waiting),
            ("opastin_live_chats", "Live chats with an agent in the team.", self.counts.active),
            ("opastin_agents_present", "Agents marked present in the team.", self.counts.present),
        ):
            family = GaugeMetricFamily(name, documentation, labels=["team"])
            for team_id in self.team_ids:
                family.add_metric([team_id], values.get(team_id, 0))
            yield family


def read_gauges(services: Services, resident_sockets: int) -> ScrapeGauges:
    """The scrape's gauges; ``counts`` is ``None`` when the database did not answer."""
    team_ids = tuple(team.id for team in services.teams)
    try:
        with services.database.reading() as session:
            counts: TeamCounts | None = team_counts(session)
    except Exception as error:  # the scrape still answers, with opastin_database_up 0
        logger.warning("metrics: the database did not answer (%s)", type(error).__name__)
        counts = None
    return ScrapeGauges(team_ids, counts, resident_sockets)


def create_router(resident_sockets: Callable[[], int] = lambda: 0) -> APIRouter:
    """The operators' endpoints; ``resident_sockets`` counts this process's resident sockets."""
    router = APIRouter(include_in_schema=False)

    @router.get("/livez")
    async def livez() -> JSONResponse:
        """Liveness: the process answers; nothing else is checked."""
        return JSONResponse({"status": "ok"})

    @router.get("/readyz")
    @router.get("/healthz")
    async def readyz(services: Annotated[Services, Depends(get_services)]) -> JSONResponse:
        """Readiness: the database answers; 503 when it does not."""
        if await ready(services):
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)

    @router.get("/metrics")
    async def scrape(request: Request, services: Annotated[Services, Depends(get_services)]) -> Response:
        """The metrics in Prometheus' text format, for local scrapes or with the metrics token."""
        host = request.client.host if request.client else None
        if not scrape_allowed(host, request.headers, services.settings.metrics_token):
            raise StarletteHTTPException(404, "Not Found")
        gauges = await run_in_threadpool(read_gauges, services, resident_sockets())
        body = generate_latest(metrics.REGISTRY) + generate_latest(gauges)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router


def route_template(scope: Scope, chosen: Any = None) -> str:
    """The template of the route for the request (``/desk/conversations/{conversation_id}``).

    ``chosen`` is the route the router picked (``scope["route"]`` after the app
    ran); without one, the first route that matches ``scope`` as the request came
    in (one refused before routing, e.g. too large). A mounted app (static files)
    counts as ``<mount path>/{path}``, a request no route matches as ``unmatched``.
    """
    if isinstance(getattr(chosen, "path", None), str):
        return str(chosen.path)
    for route in getattr(scope.get("app"), "routes", ()):
        match, _child = route.matches(scope)
        if match != Match.NONE:
            return f"{route.path}/{{path}}" if isinstance(route, Mount) else str(route.path)
    return UNMATCHED


class HttpMetricsMiddleware:
    """Counts HTTP requests in ``opastin_http_requests_total`` by method, route template and status class."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        arrived = dict(scope)  # the router rewrites the scope's root path for a mounted app

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(arrived, scope.get("route"))
            metrics.http_request(str(scope.get("method", "")), route, status)


def install(app: FastAPI, resident_sockets: Callable[[], int]) -> None:
    """Add the operators' endpoints and the request counting to the FastAPI ``app``."""
    app.include_router(create_router(resident_sockets))
    app.add_middleware(HttpMetricsMiddleware)
