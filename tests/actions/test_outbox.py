"""The contact outbox keeps requests on disk until the service takes them."""

from __future__ import annotations

import os
import stat
import threading
import time
from typing import Any

import pytest

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
    # A claimed request is out of the waiting list while it is being sent (and back after a failure),
    # so the list alone can look empty before the third try has stored it.
    while (outbox.pending() or not service.stored) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(service.stored) == 1
    assert outbox.pending() == []


def test_two_couriers_sharing_a_folder_send_each_request_once(tmp_path):
    """Action servers sharing one outbox (the cluster): a request is claimed before it is sent."""
    for number in range(40):
        ContactOutbox(tmp_path).put({**BODY, "request_id": f"request-{number:04}"})
    sent: list[str] = []
    lock = threading.Lock()

    def slow_send(request: dict[str, Any]) -> None:
        time.sleep(0.002)  # long enough for the other courier to reach the same file
        with lock:
            sent.append(request["request_id"])

    couriers = [threading.Thread(target=ContactOutbox(tmp_path).deliver, args=(slow_send,)) for _ in range(2)]
    for courier in couriers:
        courier.start()
    for courier in couriers:
        courier.join(timeout=10)

    assert sorted(sent) == [f"request-{number:04}" for number in range(40)]
    assert list(tmp_path.iterdir()) == []


def test_a_request_given_back_when_the_service_is_down_waits_again(tmp_path):
    outbox = ContactOutbox(tmp_path)
    path = outbox.put(BODY)
    assert outbox.deliver(FlakyService(failures=1).send) == 0
    assert outbox.pending() == [path]


def test_a_claim_left_by_a_courier_that_died_is_given_back(tmp_path):
    outbox = ContactOutbox(tmp_path)
    path = outbox.put(BODY)
    claimed_at = time.time_ns() - 120 * 10**9
    path.rename(path.with_name(f"{path.stem}.{claimed_at}.sending"))  # its server was killed while sending

    outbox.give_back_stale_claims(older_than_s=600)
    assert outbox.pending() == []  # a recent claim: its courier may still be sending
    outbox.give_back_stale_claims(older_than_s=60)
    assert outbox.pending() == [path]
    service = FlakyService()
    assert outbox.deliver(service.send) == 1
    assert len(service.stored) == 1 and list(tmp_path.iterdir()) == []


def test_a_request_keeps_its_age_while_it_waits(tmp_path):
    """The retention purge removes kept requests by their age: trying to send one does not renew it."""
    outbox = ContactOutbox(tmp_path)
    path = outbox.put(BODY)
    old = time.time() - 3600
    os.utime(path, (old, old))
    outbox.deliver(FlakyService(failures=1).send)
    assert path.stat().st_mtime == pytest.approx(old)


def test_a_watching_courier_delivers_what_another_server_kept(tmp_path):
    service = FlakyService()
    courier = Courier(ContactOutbox(tmp_path), lambda: service.send, interval_s=0.01, keep_watching=True)
    courier.start()
    try:
        time.sleep(0.05)  # nothing waits; the courier keeps watching
        ContactOutbox(tmp_path).put(BODY)  # as another action server sharing the folder would
        deadline = time.monotonic() + 5
        while not service.stored and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        courier.stop()
    assert len(service.stored) == 1
