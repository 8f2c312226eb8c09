"""What the action server counts: calls of the handoff service by outcome, runs by action name."""

from __future__ import annotations

import httpx
import pytest

from actions import metrics
from actions.handoff_client import (
    HandoffClient,
    HandoffServiceError,
    InvalidRequest,
    Refused,
    ServiceUnavailable,
)
from tests.actions.conftest import Service, down


def counted(name: str, **labels: str) -> float:
    """A process-wide metric's current value (0 before its first count)."""
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def answering(handler) -> HandoffClient:  # type: ignore[no-untyped-def]
    """A client whose every request ``handler`` answers (or fails)."""
    return HandoffClient(
        httpx.Client(base_url="http://service.test", transport=httpx.MockTransport(handler)), "t"
    )


def raise_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the service is slow", request=request)


def test_a_call_that_answered_counts_as_ok_with_its_time(service: Service) -> None:
    calls = counted("opastin_handoff_calls_total", operation="team_status", outcome="ok")
    timed = counted("opastin_handoff_call_seconds_count", operation="team_status")
    assert service.client.team_status("neuvola").id == "neuvola"
    assert counted("opastin_handoff_calls_total", operation="team_status", outcome="ok") == calls + 1
    assert counted("opastin_handoff_call_seconds_count", operation="team_status") == timed + 1


def test_a_service_that_does_not_answer_counts_as_connection() -> None:
    before = counted("opastin_handoff_calls_total", operation="public_teams", outcome="connection")
    with pytest.raises(ServiceUnavailable):
        down().public_teams()
    assert (
        counted("opastin_handoff_calls_total", operation="public_teams", outcome="connection") == before + 1
    )


@pytest.mark.parametrize(
    ("handler", "error", "outcome"),
    [
        (lambda request: httpx.Response(409, json={"error": {"code": "queue_full"}}), Refused, "refused"),
        (
            lambda request: httpx.Response(422, json={"error": {"code": "invalid_request"}}),
            InvalidRequest,
            "invalid",
        ),
        (raise_timeout, ServiceUnavailable, "timeout"),
        (lambda request: httpx.Response(503), ServiceUnavailable, "error"),
        (lambda request: httpx.Response(401), ServiceUnavailable, "error"),
    ],
)
def test_each_outcome_of_a_failed_call(handler, error: type[HandoffServiceError], outcome: str) -> None:  # type: ignore[no-untyped-def]
    before = counted("opastin_handoff_calls_total", operation="create_handoff", outcome=outcome)
    with pytest.raises(error):
        answering(handler).create_handoff("w-secret-conversation", "neuvola", "yhteenveto", [])
    assert counted("opastin_handoff_calls_total", operation="create_handoff", outcome=outcome) == before + 1
    for sample in metrics.REGISTRY.collect():
        assert all("w-secret-conversation" not in str(found.labels) for found in sample.samples)


def test_every_operation_has_its_own_label(service: Service) -> None:
    service.client.send_feedback(4, None, None)
    service.client.public_teams()
    assert counted("opastin_handoff_calls_total", operation="feedback", outcome="ok") >= 1
    assert counted("opastin_handoff_calls_total", operation="public_teams", outcome="ok") >= 1


@pytest.mark.parametrize(
    ("name", "status", "label"),
    [
        ("action_join_queue", 200, "action_join_queue"),
        ("action_join_queue", 500, "action_join_queue"),
        ("action_made_up_by_someone", 404, "unknown"),  # the server has no such action
        ("w-0123abc spaces", 200, "unknown"),
        (None, 400, "unknown"),
        ({"nested": 1}, 200, "unknown"),
    ],
)
def test_action_labels_are_registered_names_or_unknown(name: object, status: int, label: str) -> None:
    assert metrics.action_label(name, status) == label


def test_a_failed_run_counts_as_a_run_and_an_error() -> None:
    runs = counted("opastin_action_runs_total", action="action_route")
    errors = counted("opastin_action_errors_total", action="action_route")
    metrics.action_ran("action_route", 200, 0.02)
    metrics.action_ran("action_route", 500, 0.03)
    assert counted("opastin_action_runs_total", action="action_route") == runs + 2
    assert counted("opastin_action_errors_total", action="action_route") == errors + 1
