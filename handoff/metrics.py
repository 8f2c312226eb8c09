"""The service's Prometheus metrics (process-wide), served at ``GET /metrics`` (docs/monitoring.md).

The metrics here are counted where things happen: the gateway's calls to Rasa
(:mod:`handoff.gateway.rasa`), the live chat relay, ended waits
(:mod:`handoff.queue`), the retention purge and HTTP requests. Gauges of the
queues and live chats per team are read from the database at each scrape
(:mod:`handoff.api.operations`).

Labels never hold personal data: no conversation id, name, text or raw path.
Team ids, route templates, outcomes and kinds are fixed sets.

Each process counts its own: with several replicas, scrape each and sum.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import (
    Counter,
    Gauge,
    Histogram,
)

from opastin.monitoring import process_registry

REGISTRY = process_registry()

BOT_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0)
WAIT_BUCKETS_S = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200)

BOT_REPLY_SECONDS = Histogram(
    "opastin_bot_reply_seconds",
    "Time from sending a message to Rasa's REST channel until its replies arrived (answered calls).",
    buckets=BOT_BUCKETS_S,
    registry=REGISTRY,
)
BOT_ERRORS = Counter(
    "opastin_bot_errors_total",
    "Calls to Rasa that gave no replies, by kind: timeout, connection, http, invalid.",
    ["kind"],
    registry=REGISTRY,
)
BOT_RETRIES = Counter(
    "opastin_bot_retries_total",
    "Resident messages sent to Rasa again after a refused connection or a 5xx (answered once only).",
    registry=REGISTRY,
)
LIVE_MESSAGES = Counter(
    "opastin_live_messages_total",
    "Live chat messages relayed, by direction: resident_to_agent, agent_to_resident.",
    ["direction"],
    registry=REGISTRY,
)
WAITS_ENDED = Histogram(
    "opastin_queue_wait_seconds",
    "Waits in a team's queue that ended, by outcome (accepted, cancelled, closed): seconds waited.",
    ["outcome"],
    buckets=WAIT_BUCKETS_S,
    registry=REGISTRY,
)
PURGE_REMOVED = Counter(
    "opastin_purge_removed_total",
    "Items the retention purge removed, by store.",
    ["store"],
    registry=REGISTRY,
)
PURGE_LAST_SUCCESS = Gauge(
    "opastin_purge_last_success_timestamp_seconds",
    "Unix time of the last retention purge this process finished (0: none yet).",
    registry=REGISTRY,
)
MAINTENANCE_FAILURES = Counter(
    "opastin_maintenance_failures_total",
    "Runs of the maintenance task (closing queues, purge) that failed.",
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "opastin_http_requests_total",
    "HTTP requests answered, by method, route template and status class (2xx, 4xx, ...).",
    ["method", "route", "status"],
    registry=REGISTRY,
)

TO_AGENT = "resident_to_agent"
TO_RESIDENT = "agent_to_resident"
WAIT_OUTCOMES = ("accepted", "cancelled", "closed")
BOT_ERROR_KINDS = ("timeout", "connection", "http", "invalid")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Every fixed label value starts at 0, so rates and alerts work from the first scrape.
for _kind in BOT_ERROR_KINDS:
    BOT_ERRORS.labels(kind=_kind)
for _direction in (TO_AGENT, TO_RESIDENT):
    LIVE_MESSAGES.labels(direction=_direction)
for _outcome in WAIT_OUTCOMES:
    WAITS_ENDED.labels(outcome=_outcome)


def wait_ended(outcome: str | None, waited_s: float) -> None:
    """A wait in a queue ended with ``outcome`` after ``waited_s`` seconds."""
    label = outcome if outcome in WAIT_OUTCOMES else "other"
    WAITS_ENDED.labels(outcome=label).observe(max(0.0, waited_s))


def purge_done(removed: Mapping[str, int]) -> None:
    """A retention purge finished, having removed ``removed[store]`` items from each store."""
    for store, count in removed.items():
        PURGE_REMOVED.labels(store=store).inc(count)
    PURGE_LAST_SUCCESS.set_to_current_time()


def status_class(status: int) -> str:
    """``2xx``, ``3xx``, ``4xx`` or ``5xx`` for an HTTP status code."""
    return f"{min(max(status // 100, 1), 5)}xx"


def http_request(method: str, route: str, status: int) -> None:
    """One answered HTTP request (``route`` is a template such as ``/api/service/teams/{team}``)."""
    verb = method.upper() if method.upper() in METHODS else "OTHER"
    HTTP_REQUESTS.labels(method=verb, route=route, status=status_class(status)).inc()
