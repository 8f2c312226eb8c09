"""The action server's client of the handoff service API (``/api/service/...``).

The only module of the action server that speaks HTTP to the service. Every
call has a short timeout: a slow or stopped service raises
:class:`ServiceUnavailable`, so the bot never promises a human it cannot
reach. A 409 (the team is closed, nobody is present, the queue is full, the
resident is already queued) raises :class:`Refused` with the service's code;
another 4xx raises :class:`InvalidRequest` (401 and 403, a token problem of the
deployment, count as unavailable: they go away when the token is fixed).

Every call is counted by operation and outcome in ``opastin_handoff_calls_total``
and timed in ``opastin_handoff_call_seconds`` (:mod:`actions.metrics`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import httpx

from actions import metrics
from opastin import places

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 3.0


class HandoffServiceError(Exception):
    """The handoff service could not do what was asked."""


class ServiceUnavailable(HandoffServiceError):
    """The service did not answer in time, could not be reached, or answered with an error."""


class InvalidRequest(HandoffServiceError):
    """The service rejected the request itself (4xx other than 409): retrying it cannot help."""


class Refused(HandoffServiceError):
    """The service refused the request (409); ``code`` is e.g. ``team_closed`` or ``queue_full``."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


@dataclass(frozen=True)
class TeamStatus:
    """A team's opening, presence and queue now, and its contact details."""

    id: str
    name: str
    open: bool
    opens_at: datetime | None
    closes_at: datetime | None
    next_opening: datetime | None
    next_opening_closes_at: datetime | None
    accepting: bool
    identification: str
    phone: str
    web_page: str
    agents_present: int
    capacity: int
    queue_length: int
    estimated_wait_s: int | None
    reply_within_workdays: int


@dataclass(frozen=True)
class PublicTeam:
    """A team in the public status list."""

    id: str
    name: str
    open: bool
    opens_at: datetime | None
    closes_at: datetime | None
    accepting: bool


@dataclass(frozen=True)
class QueueTicket:
    """A resident's place in a team's queue."""

    conversation_id: str
    team: str
    status: str
    position: int | None
    queue_length: int
    estimated_wait_s: int | None


@dataclass(frozen=True)
class ContactReceipt:
    """The answer to a stored contact request."""

    reference: str
    team: str
    reply_by: date
    reply_promise: str


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class HandoffClient:
    """Calls of the service API over an ``httpx.Client`` whose ``base_url`` is the service."""

    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, operation: str, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """The answer of one API call, counted as ``operation`` with its outcome."""
        started = time.perf_counter()
        outcome = "error"
        try:
            answer = self._request(method, path, body)
            outcome = "ok"
            return answer
        except HandoffServiceError as error:
            outcome = call_outcome(error)
            raise
        finally:
            metrics.service_called(operation, outcome, time.perf_counter() - started)

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        try:
            response = self.http.request(method, path, json=body, headers=self.headers)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(f"{method} {path}: {error!r}") from error
        if response.status_code == 409:
            refusal = response.json().get("error", {})
            raise Refused(str(refusal.get("code", "conflict")), str(refusal.get("message", "")))
        # Error texts may echo what the resident wrote: only the status and the error code are kept.
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403):
            raise InvalidRequest(f"{method} {path}: HTTP {response.status_code} {_error_code(response)}")
        if response.status_code >= 300:
            raise ServiceUnavailable(f"{method} {path}: HTTP {response.status_code} {_error_code(response)}")
        return response.json()

    def team_status(self, team: str) -> TeamStatus:
        """One team's status (``GET /api/service/teams/{team}``)."""
        body = self._call("team_status", "GET", f"/api/service/teams/{team}")
        return TeamStatus(
            id=body["id"],
            name=body["name"],
            open=body["open"],
            opens_at=_time(body["opens_at"]),
            closes_at=_time(body["closes_at"]),
            next_opening=_time(body["next_opening"]),
            next_opening_closes_at=_time(body.get("next_opening_closes_at")),
            accepting=body["accepting"],
            identification=body["identification"],
            phone=body["phone"],
            web_page=body["web_page"],
            agents_present=body["agents_present"],
            capacity=body["capacity"],
            queue_length=body["queue_length"],
            estimated_wait_s=body["estimated_wait_s"],
            reply_within_workdays=body["reply_within_workdays"],
        )

    def public_teams(self) -> list[PublicTeam]:
        """Every team's public status (``GET /api/public/teams``), in the service's order."""
        return [
            PublicTeam(
                id=item["id"],
                name=item["name"],
                open=item["open"],
                opens_at=_time(item["opens_at"]),
                closes_at=_time(item["closes_at"]),
                accepting=item["accepting"],
            )
            for item in self._call("public_teams", "GET", "/api/public/teams")
        ]

    def create_handoff(
        self, conversation_id: str, team: str, summary: str, transcript: Sequence[Mapping[str, Any]]
    ) -> QueueTicket:
        """Queue the conversation for ``team``; :class:`Refused` when the team cannot take it."""
        body = self._call(
            "create_handoff",
            "POST",
            "/api/service/handoffs",
            {
                "conversation_id": conversation_id,
                "team": team,
                "summary": summary,
                "transcript": list(transcript),
            },
        )
        return QueueTicket(
            conversation_id=body["conversation_id"],
            team=body["team"],
            status=body["status"],
            position=body["position"],
            queue_length=body["queue_length"],
            estimated_wait_s=body["estimated_wait_s"],
        )

    def create_contact_request(self, request: Mapping[str, Any]) -> ContactReceipt:
        """Store a contact request (the body of ``POST /api/service/contact-requests``)."""
        body = self._call("contact_request", "POST", "/api/service/contact-requests", request)
        return ContactReceipt(
            reference=body["reference"],
            team=body["team"],
            reply_by=date.fromisoformat(body["reply_by"]),
            reply_promise=body["reply_promise"],
        )

    def send_feedback(self, rating: int, comment: str | None, conversation_id: str | None) -> int:
        """Store a rating 1–5 and an optional comment; returns the feedback id."""
        body = self._call(
            "feedback",
            "POST",
            "/api/service/feedback",
            {"rating": rating, "comment": comment, "conversation_id": conversation_id},
        )
        return int(body["id"])


def default_client(environ: Mapping[str, str] | None = None) -> HandoffClient:
    """A client for ``HANDOFF_URL`` (default http://127.0.0.1:8000) with the shared API token.

    The token is ``HANDOFF_API_TOKEN`` or the development token file that the
    service also uses (:func:`opastin.places.service_api_token`).
    """
    env = os.environ if environ is None else environ
    base_url = (env.get("HANDOFF_URL") or DEFAULT_URL).rstrip("/")
    token = places.service_api_token(env)
    return HandoffClient(httpx.Client(base_url=base_url, timeout=DEFAULT_TIMEOUT_S), token)


@lru_cache(maxsize=1)
def shared_client() -> HandoffClient:
    """The action server's one :func:`default_client`, made at first use (keeps connections alive)."""
    return default_client()


def call_outcome(error: HandoffServiceError) -> str:
    """A failed call's outcome: ``refused``, ``invalid``, ``timeout``, ``connection`` or ``error``."""
    if isinstance(error, Refused):
        return "refused"
    if isinstance(error, InvalidRequest):
        return "invalid"
    if isinstance(error.__cause__, httpx.TimeoutException):
        return "timeout"
    if isinstance(error.__cause__, httpx.HTTPError):
        return "connection"
    return "error"


def _error_code(response: httpx.Response) -> str:
    """The service's error code (``invalid_request``, …), never the message or the body."""
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""
