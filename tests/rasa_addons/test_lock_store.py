"""Two Rasa servers sharing one Redis lock store (rasa_addons/lock_store.py), on a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from rasa.core.lock_store import InMemoryLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_addons.lock_store import AtomicRedisLockStore, RedisUrlLockStore, redis_options
from tests.redis_support import RedisServer, running_redis

CONVERSATION = "keskustelu-1"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own."""
    with running_redis(tmp_path) as server:
        yield server


def store(server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> AtomicRedisLockStore:
    """One Rasa server's lock store, as endpoints.yml makes it with ``REDIS_URL`` set."""
    monkeypatch.setenv("REDIS_URL", server.url.removesuffix("/0") + "/1")
    made = RedisUrlLockStore(EndpointConfig(type="rasa_addons.lock_store.RedisUrlLockStore"))
    assert isinstance(made, AtomicRedisLockStore)
    return made


def test_two_servers_asking_at_once_never_get_the_same_ticket(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers = [store(redis_server, monkeypatch), store(redis_server, monkeypatch)]

    def take_tickets(server: AtomicRedisLockStore) -> list[int]:
        return [server.issue_ticket(CONVERSATION) for _ in range(40)]

    with ThreadPoolExecutor(2) as pool:
        tickets = [ticket for taken in pool.map(take_tickets, servers) for ticket in taken]

    assert sorted(tickets) == list(range(80))
    assert len(servers[0].get_lock(CONVERSATION).tickets) == 80


def test_one_conversations_messages_are_processed_one_at_a_time_across_servers(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers = [store(redis_server, monkeypatch), store(redis_server, monkeypatch)]
    active, most_active, done = 0, 0, []

    async def process(number: int) -> None:
        nonlocal active, most_active
        async with servers[number % 2].lock(CONVERSATION):
            active += 1
            most_active = max(most_active, active)
            await asyncio.sleep(0.02)  # a turn: the tracker is read, changed and saved
            active -= 1
            done.append(number)

    async def main() -> None:
        await asyncio.gather(*(process(number) for number in range(8)))

    asyncio.run(main())

    assert most_active == 1 and sorted(done) == list(range(8))
    assert done == list(range(8))  # in the order the messages arrived
    assert redis.Redis.from_url(redis_server.url, db=1).keys("*") == []  # the queue is gone when empty


def test_without_redis_url_one_rasa_server_locks_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(RedisUrlLockStore(), InMemoryLockStore)


def test_a_redis_url_gives_the_lock_stores_options() -> None:
    assert redis_options("rediss://opastin:p%40ss@redis.example.fi:6380/2") == {
        "url": "redis.example.fi",
        "port": 6380,
        "db": 2,
        "username": "opastin",
        "password": "p@ss",
        "use_ssl": True,
        "key_prefix": "opastin",
    }
    assert redis_options("redis://127.0.0.1")["port"] == 6379 and redis_options("redis://h/")["db"] == 0
    with pytest.raises(ValueError, match="REDIS_URL"):
        redis_options("http://127.0.0.1:6379")
