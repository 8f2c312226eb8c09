"""Floods against the residents' socket: per socket and per address, a polite refusal, bounded rows.

Each test fails if its limit is removed (the per-socket session bucket, the
per-address conversation limit, the bound on tracked addresses).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from handoff.app import create_app
from handoff.db import Database
from handoff.gateway import limits
from handoff.gateway.rasa import RasaClient
from handoff.models import ResidentSession
from handoff.settings import Settings
from opastin import messages
from tests.handoff.conftest import FakeClock
from tests.handoff.live_support import CONNECT_TIMEOUT_S, FakeRasa, Resident, serve


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def url(db: Database, settings: Settings, clock: FakeClock) -> AsyncIterator[str]:
    bot = RasaClient("http://rasa.test", client=FakeRasa().client())
    async with serve(create_app(replace(settings, agent_grace_s=0.2), clock, bot=bot)) as served:
        yield served


def sessions_in(db: Database) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(ResidentSession)).scalar_one()


def test_ten_thousand_new_conversations_a_minute_from_one_address_make_fifty_at_most() -> None:
    clock = FakeTime()
    address_limits = limits.AddressLimits(clock)
    allowed = 0
    for attempt in range(10_000):
        clock.now = attempt * 60 / 10_000
        allowed += address_limits.new_session("198.51.100.7")
    assert allowed <= 30 + 20  # the burst, then one every three seconds
    assert address_limits.new_session("192.0.2.1")  # another address is not affected


def test_tracked_addresses_stay_bounded() -> None:
    address_limits = limits.AddressLimits(FakeTime(), max_addresses=1000)
    for number in range(5000):
        address_limits.message(f"10.0.{number // 250}.{number % 250}")
    assert len(address_limits) == 1000


async def test_a_socket_flooding_session_requests_is_told_to_slow_down(url: str, db: Database) -> None:
    resident = Resident(url)
    await resident.connect()
    for _ in range(20):
        await resident.sio.emit("session_request", {"session_id": None})
    await asyncio.sleep(0.5)
    notices = [message.get("text") for message in resident.drain()]
    assert messages.text("gateway.too_fast") in notices
    assert sessions_in(db) <= 1 + limits.SOCKET_SESSIONS[0]
    await resident.close()


async def test_many_sockets_from_one_address_get_a_polite_refusal(url: str, db: Database) -> None:
    residents = [Resident(url) for _ in range(40)]
    refused = 0
    for resident in residents:
        await resident.sio.connect(
            url, socketio_path="socket.io", transports=["websocket"], wait_timeout=CONNECT_TIMEOUT_S
        )
        await resident.sio.emit("session_request", {"session_id": None})
    await asyncio.sleep(1)
    for resident in residents:
        refused += any(
            message.get("text") == messages.text("gateway.too_many_conversations")
            for message in resident.drain()
        )
        await resident.close()
    assert sessions_in(db) == limits.ADDRESS_SESSIONS[0]
    assert refused == 40 - limits.ADDRESS_SESSIONS[0]
