"""The action server's Prometheus metrics (process-wide), served at ``GET /metrics`` (docs/monitoring.md).

Action runs are counted by the server around ``/webhook`` (:mod:`actions.monitoring`);
calls of the handoff service by its one client (:mod:`actions.handoff_client`).
Labels are action names and fixed words, never a conversation id or text.
"""

from __future__ import annotations

import re

from prometheus_client import (
    Counter,
    Histogram,
)

from opastin.monitoring import process_registry

REGISTRY = process_registry()

ACTION_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
CALL_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0)
UNKNOWN_ACTION = "unknown"
SERVICE_OUTCOMES = ("ok", "refused", "invalid", "timeout", "connection", "error")
_ACTION_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")

ACTION_RUNS = Counter(
    "opastin_action_runs_total",
    "Action runs Rasa asked for, by action name (unknown: no such action).",
    ["action"],
    registry=REGISTRY,
)
ACTION_SECONDS = Histogram(
    "opastin_action_duration_seconds",
    "Time to answer a run of the action, from the request to the response.",
    ["action"],
    buckets=ACTION_BUCKETS_S,
    registry=REGISTRY,
)
ACTION_ERRORS = Counter(
    "opastin_action_errors_total",
    "Action runs that failed (an exception, HTTP 5xx) or named no known action (unknown).",
    ["action"],
    registry=REGISTRY,
)
SERVICE_CALLS = Counter(
    "opastin_handoff_calls_total",
    "Calls of the handoff service API, by operation and outcome "
    "(ok, refused, invalid, timeout, connection, error).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
SERVICE_CALL_SECONDS = Histogram(
    "opastin_handoff_call_seconds",
    "Time a call of the handoff service API took, by operation, whatever its outcome.",
    ["operation"],
    buckets=CALL_BUCKETS_S,
    registry=REGISTRY,
)


def action_label(name: object, status: int) -> str:
    """The label of a run: the action's name, or ``unknown`` when the server knew no such action.

    The server answers 404 for a name it has no action for, so every other name
    is one of the registered actions and the label values stay a fixed set.
    """
    if status == 404 or not isinstance(name, str) or not _ACTION_NAME.fullmatch(name):
        return UNKNOWN_ACTION
    return name


def action_ran(name: object, status: int, seconds: float) -> None:
    """A ``/webhook`` call for action ``name`` was answered with ``status`` after ``seconds``."""
    label = action_label(name, status)
    ACTION_RUNS.labels(action=label).inc()
    ACTION_SECONDS.labels(action=label).observe(seconds)
    if status >= 500 or label == UNKNOWN_ACTION:
        ACTION_ERRORS.labels(action=label).inc()


def service_called(operation: str, outcome: str, seconds: float) -> None:
    """A call of the handoff service API ended with ``outcome`` after ``seconds``."""
    SERVICE_CALLS.labels(operation=operation, outcome=outcome).inc()
    SERVICE_CALL_SECONDS.labels(operation=operation).observe(seconds)
