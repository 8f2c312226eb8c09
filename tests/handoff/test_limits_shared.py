"""Flood limits and the login throttle shared by replicas through a real Redis (``REDIS_URL``).

Two limiter instances, each with its own Redis client, stand for two replicas
of the handoff service behind one load balancer: they must share one
allowance. Without Redis the in-memory limits are used, and a Redis that dies
leaves each replica limiting on its own, with a warning and no exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff.app import create_app
from handoff.db import Database
from handoff.desk import routes
from handoff.desk.auth import (
    MAX_DELAY_S,
    LoginLimiter,
    SharedLoginLimiter,
    login_throttle,
)
from handoff.gateway.limits import (
    ADDRESS_MESSAGES,
    ADDRESS_SESSIONS,
    AddressLimits,
    SharedAddressLimits,
    address_limits,
    redis_client,
)
from handoff.gateway.residents import Residents
from handoff.settings import Settings
from tests.handoff.conftest import FakeClock, add_agent
from tests.handoff.live_support import CSRF_FIELD, PASSWORD
from tests.redis_support import RedisServer

ADDRESS = "198.51.100.7"
USERNAME = "maija"


class FakeTime:
    """Wall time that stands still until moved: both replicas read the same one."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clients(redis_server: RedisServer) -> AsyncIterator[list[Any]]:
    """Two Redis clients: one for each replica (patient timeouts: a loaded test machine is slow)."""
    connected = [redis_client(redis_server.url, timeout_s=5.0) for _ in range(2)]
    yield connected
    for client in connected:
        await client.close()


async def take_alternately(allow: list[Callable[[str], Awaitable[bool]]], tries: int) -> int:
    """How many of ``tries`` attempts from ADDRESS, alternating between the replicas, were allowed."""
    return sum([await allow[number % len(allow)](ADDRESS) for number in range(tries)])


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait until ``condition`` holds, at most ``timeout_s`` seconds."""
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


def test_without_redis_the_limits_stay_in_this_process() -> None:
    assert isinstance(address_limits(None), AddressLimits)
    assert isinstance(login_throttle(None), LoginLimiter)


async def test_two_replicas_share_one_allowance_of_messages(clients: list[Any]) -> None:
    clock = FakeTime()
    replicas = [SharedAddressLimits(client, clock) for client in clients]
    burst, rate = ADDRESS_MESSAGES
    assert await take_alternately([replica.allow_message for replica in replicas], 3 * burst) == burst
    clock.now += 1.0
    assert await take_alternately([replica.allow_message for replica in replicas], 3 * burst) == rate
    assert await replicas[1].allow_message("192.0.2.1")  # another address is not affected


async def test_two_replicas_share_one_allowance_of_new_conversations(clients: list[Any]) -> None:
    clock = FakeTime()
    replicas = [SharedAddressLimits(client, clock) for client in clients]
    burst, rate = ADDRESS_SESSIONS
    assert await take_alternately([replica.allow_new_session for replica in replicas], 100) == burst
    clock.now += 1 / rate
    assert await take_alternately([replica.allow_new_session for replica in replicas], 10) == 1
    assert await replicas[0].allow_message(ADDRESS)  # messages are a limit of their own


async def test_redis_keeps_no_address_and_forgets_an_idle_bucket(clients: list[Any]) -> None:
    limits = SharedAddressLimits(clients[0], FakeTime())
    await limits.allow_message(ADDRESS)
    await limits.allow_new_session(ADDRESS)
    keys = await clients[0].keys("*")
    assert len(keys) == 2 and not any(ADDRESS.encode() in key for key in keys)
    burst, rate = ADDRESS_MESSAGES
    assert 0 < await clients[0].pttl(next(key for key in keys if b"messages" in key)) <= burst / rate * 1000


async def test_two_replicas_throttle_logins_as_one_process_does(clients: list[Any]) -> None:
    clock = FakeTime()
    replicas = [SharedLoginLimiter(client, clock) for client in clients]
    one_process = LoginLimiter(clock)
    shared, alone = [], []
    for number in range(12):
        shared.append(await replicas[number % 2].before_check(USERNAME, ADDRESS))
        alone.append(await one_process.before_check(USERNAME, ADDRESS))
    assert shared == alone == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, MAX_DELAY_S, MAX_DELAY_S]
    assert await replicas[0].before_check(USERNAME, "10.0.0.9") == 0  # maija at her own desk
    clock.now += 15 * 60 + 1
    assert await replicas[1].before_check(USERNAME, ADDRESS) == 0  # the window has passed


async def test_a_success_on_one_replica_forgets_the_pair_on_the_other(clients: list[Any]) -> None:
    clock = FakeTime()
    first, second = (SharedLoginLimiter(client, clock) for client in clients)
    for _ in range(7):
        await first.before_check(USERNAME, ADDRESS)
    await second.after_success(USERNAME, ADDRESS)
    assert await first.before_check(USERNAME, ADDRESS) == 0
    # The pair's attempts are taken off the address too: 19 other usernames stay free there.
    for number in range(19):
        assert await second.before_check(f"user{number}", ADDRESS) == 0


async def test_redis_keeps_no_username_or_address_and_forgets_after_the_window(clients: list[Any]) -> None:
    await SharedLoginLimiter(clients[0]).before_check(USERNAME, ADDRESS)
    keys = await clients[0].keys("*")
    assert len(keys) == 3
    assert not any(USERNAME.encode() in key or ADDRESS.encode() in key for key in keys)
    expiries = [await clients[0].ttl(key) for key in keys]
    assert all(0 < seconds <= 15 * 60 for seconds in expiries)


async def test_when_redis_dies_each_replica_limits_on_its_own_with_a_warning(
    redis_server: RedisServer, clients: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    limits = SharedAddressLimits(clients[0], FakeTime())
    throttle = SharedLoginLimiter(clients[1], FakeTime())
    assert await limits.allow_message(ADDRESS)
    assert await throttle.before_check(USERNAME, ADDRESS) == 0
    redis_server.kill()
    burst = ADDRESS_MESSAGES[0]
    assert await take_alternately([limits.allow_message], 2 * burst) == burst  # this replica's own bucket
    delays = [await throttle.before_check(USERNAME, ADDRESS) for _ in range(7)]
    assert delays == [0, 0, 0, 0, 0, 1, 2]  # this replica's own count
    await throttle.after_success(USERNAME, ADDRESS)
    assert await throttle.before_check(USERNAME, ADDRESS) == 0
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        "address limits: Redis unavailable (ConnectionError); each replica limits on its own",
        "login throttle: Redis unavailable (ConnectionError); each replica limits on its own",
    ]
    assert not any(
        USERNAME in record.getMessage() or ADDRESS in record.getMessage() for record in caplog.records
    )


async def test_a_resident_chats_on_when_redis_dies(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[dict[str, Any]] = []

    async def emit(event: str, message: dict[str, Any], **where: Any) -> None:
        sent.append(message)

    settings = SimpleNamespace(redis_url=redis_server.url)
    hub = SimpleNamespace(services=SimpleNamespace(settings=settings), sio=SimpleNamespace(emit=emit))
    residents = Residents(hub)  # a stand-in with only what the message path reads
    assert isinstance(residents.address_limits, SharedAddressLimits)
    handled: list[str] = []

    async def handle(resident: Any, data: dict[str, Any]) -> None:
        handled.append(data["message"])

    residents._message = handle  # the bot's side is not under test
    residents.connected("sid-1", ADDRESS)
    residents.event("sid-1", "message", {"message": "hei"})
    await eventually(lambda: len(handled) == 1)
    redis_server.kill()
    residents.event("sid-1", "message", {"message": "vielä"})
    await eventually(lambda: len(handled) == 2)
    residents.disconnected("sid-1")
    residents.stop()
    assert handled == ["hei", "vielä"] and sent == []
    assert not any(record.name == "handoff.gateway.residents" for record in caplog.records)


def test_the_desk_login_is_throttled_over_redis(
    redis_server: RedisServer,
    db: Database,
    settings: Settings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(routes, "pause", no_wait)
    add_agent(db, USERNAME, ["neuvola"])
    app = create_app(replace(settings, redis_url=redis_server.url), clock)
    with TestClient(app) as client:
        statuses = [log_in(client, "wrong password!") for _ in range(7)]
        statuses.append(log_in(client, PASSWORD))
        client.cookies.clear()  # logged out
        statuses.append(log_in(client, "wrong password!"))
    assert statuses == [401] * 7 + [303, 401]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 0]  # slowed, never locked; the success forgot the pair


def log_in(client: TestClient, password: str) -> int:
    token = CSRF_FIELD.search(client.get("/desk/login").text).group(1)
    data = {"username": USERNAME, "password": password, "csrf_token": token}
    return client.post("/desk/login", data=data, follow_redirects=False).status_code
