"""Metrics of the action server's Sanic app: timing ``/webhook`` and serving ``GET /metrics``.

``/metrics`` answers a scrape from this machine, or one with ``Authorization:
Bearer <ACTION_SERVER_METRICS_TOKEN>`` when that is set
(:func:`opastin.monitoring.scrape_allowed`); anyone else gets 404. It does not
need Rasa's token (``ACTION_SERVER_TOKEN``), which Prometheus should never hold.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions import metrics
from opastin.monitoring import scrape_allowed

METRICS_PATH = "/metrics"
METRICS_TOKEN_ENV = "ACTION_SERVER_METRICS_TOKEN"
WEBHOOK_PATH = "/webhook"


def metrics_token(environ: Mapping[str, str]) -> str | None:
    """``ACTION_SERVER_METRICS_TOKEN``, or ``None`` when unset (local scrapes only)."""
    return (environ.get(METRICS_TOKEN_ENV) or "").strip() or None


def next_action(request: Request) -> Any:
    """The action a ``/webhook`` call asks for (``next_action``), or ``None`` if unreadable.

    A plain body is parsed once by Sanic and cached (rasa-sdk reads the same);
    a deflated one is read again here.
    """
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            call = json.loads(zlib.decompress(request.body))
        else:
            call = request.json
    except Exception:  # the webhook answers the bad body itself; here it is only unnamed
        return None
    return call.get("next_action") if isinstance(call, dict) else None


def install(app: Sanic, token: str | None) -> None:
    """Time every ``/webhook`` call that passed the token check; serve ``/metrics``.

    Register after the token middleware: a request it refused never reaches the
    timer, so only Rasa's calls are counted.
    """

    @app.middleware("request")  # type: ignore[no-untyped-call, untyped-decorator]  # untyped in Sanic 21
    async def start_timer(request: Request) -> None:
        if request.path == WEBHOOK_PATH:
            request.ctx.action_started = time.perf_counter()

    @app.middleware("response")  # type: ignore[no-untyped-call, untyped-decorator]  # untyped in Sanic 21
    async def count_action(request: Request, answer: HTTPResponse) -> None:
        started = getattr(request.ctx, "action_started", None)
        if started is not None:
            metrics.action_ran(next_action(request), answer.status, time.perf_counter() - started)

    @app.get(METRICS_PATH)
    async def scrape(request: Request) -> HTTPResponse:
        if not scrape_allowed(request.ip, request.headers, token):
            return response.json({"error": "Not found."}, status=404)
        return response.raw(generate_latest(metrics.REGISTRY), content_type=CONTENT_TYPE_LATEST)
