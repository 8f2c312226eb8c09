"""The contact outbox keeps requests on disk until the service takes them."""

from __future__ import annotations

import stat
import time
from typing import Any

from actions.handoff_client import InvalidRequest, ServiceUnavailable
from actions.outbox import ContactOutbox, Courier

BODY = {"team": "neuvola", "topic": "Neuvola", "message": "Soittakaa rokotuksista", "consent": True}


class FlakyService:
    """Refuses to answer ``failures`` times, then stores what it gets."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.stored: list[dict[str, Any]] = []

    def send(self, request: dict[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise ServiceUnavailable("connection refused")
        self.stored.append(request)


def test_a_kept_request_is_private_and_gets_a_request_id(tmp_path):
    outbox = ContactOutbox(tmp_path / "outbox")
    path = outbox.put(BODY)
    assert outbox.pending() == [path]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert ContactOutbox(tmp_path / "outbox").pending() == [path]  # survives a restart


def test_requests_are_delivered_in_order_once_the_service_answers(tmp_path):
    outbox = ContactOutbox(tmp_path)
    outbox.put({**BODY, "request_id": "first-0001"})
    outbox.put({**BODY, "request_id": "second-0002"})
    service = FlakyService(failures=1)

    assert outbox.deliver(service.send) == 0
    assert len(outbox.pending()) == 2
    assert outbox.deliver(service.send) == 2
    assert [request["request_id"] for request in service.stored] == ["first-0001", "second-0002"]
    assert outbox.pending() == []


def test_a_request_the_service_rejects_is_set_aside_for_a_person(tmp_path):
    outbox = ContactOutbox(tmp_path)
    outbox.put({**BODY, "request_id": "bad-00001"})
    outbox.put({**BODY, "request_id": "good-0002"})
    stored = []

    def send(request: dict[str, Any]) -> None:
        if request["request_id"].startswith("bad"):
            raise InvalidRequest("HTTP 422")
        stored.append(request["request_id"])

    assert outbox.deliver(send) == 1
    assert stored == ["good-0002"]
    assert len(list((tmp_path / "rejected").glob("*.json"))) == 1


def test_the_courier_keeps_trying_until_the_outbox_is_empty(tmp_path):
    outbox = ContactOutbox(tmp_path)
    outbox.put(BODY)
    service = FlakyService(failures=2)
    courier = Courier(outbox, lambda: service.send, interval_s=0.01)
    courier.start()
    deadline = time.monotonic() + 5
    while outbox.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(service.stored) == 1
    assert outbox.pending() == []
