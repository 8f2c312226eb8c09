"""Socket.io's Redis queue: a replica notices when it subscribed again and its sockets catch up."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from handoff.gateway.hub import Gateway
from handoff.gateway.pubsub import GapAwareRedisManager
from handoff.gateway.wire import DESK, RESIDENTS, RESYNC
from tests.redis_support import RedisServer


async def _until(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_new_subscription_after_redis_restarted_is_a_gap(redis_server: RedisServer) -> None:
    gaps: list[float] = []
    manager = GapAwareRedisManager(redis_server.url, lambda: gaps.append(time.monotonic()))
    received: list[Any] = []

    async def listen() -> None:
        async for data in manager._listen():
            received.append(data)

    listening = asyncio.create_task(listen())
    try:
        await _until(lambda: manager._subscribed_before, 5)
        await manager._publish({"method": "before"})
        await _until(lambda: len(received) == 1, 5)
        assert gaps == []  # the first subscription is no gap

        redis_server.restart()  # what was published meanwhile is gone: Redis keeps nothing
        await _until(lambda: gaps, 10)

        assert len(gaps) == 1
        await manager._publish({"method": "after"})
        await _until(lambda: len(received) == 2, 5)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_after_a_gap_every_socket_of_this_replica_is_asked_to_catch_up() -> None:
    emitted: list[tuple[str, str, bool]] = []

    async def emit(event: str, data: Any, namespace: str, ignore_queue: bool = False) -> None:
        emitted.append((event, namespace, ignore_queue))

    gateway = SimpleNamespace(sio=SimpleNamespace(emit=emit))
    await Gateway.resync_sockets(gateway)  # type: ignore[arg-type]

    assert emitted == [(RESYNC, RESIDENTS, True), (RESYNC, DESK, True)]  # here only, not through Redis
