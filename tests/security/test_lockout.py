"""Desk login throttling: slows guessing down, never lets an outsider lock an agent out.

Each test fails if its protection is removed: counting before the hash, the
per-(username, address) pairing, the delay, the bound on concurrent hashes.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from handoff.app import create_app
from handoff.db import Database
from handoff.desk import routes
from handoff.desk.auth import MAX_DELAY_S, LoginLimiter
from tests.handoff.conftest import add_agent
from tests.handoff.live_support import CSRF_FIELD, PASSWORD


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def attempt_login(client: TestClient, username: str, password: str, address: str = "testclient") -> int:
    token = CSRF_FIELD.search(client.get("/desk/login").text).group(1)
    response = client.post(
        "/desk/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers={"X-Forwarded-For": address},
        follow_redirects=False,
    )
    return response.status_code


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the login handler asked for (without really waiting)."""
    recorded: list[float] = []

    async def no_wait(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(routes, "pause", no_wait)
    return recorded


def test_failures_slow_the_guesser_down_exponentially_up_to_a_cap() -> None:
    clock = FakeTime()
    limiter = LoginLimiter(clock)
    delays = []
    for _ in range(12):
        delays.append(limiter.delay("maija", "10.0.0.9"))
        limiter.attempt("maija", "10.0.0.9")
    assert delays[:6] == [0, 0, 0, 0, 0, 1]
    assert delays[6:] == [2, 4, 8, 16, MAX_DELAY_S, MAX_DELAY_S]
    clock.now += 15 * 60 + 1
    assert limiter.delay("maija", "10.0.0.9") == 0  # the window has passed


def test_an_outsider_cannot_slow_the_agent_down_from_elsewhere() -> None:
    limiter = LoginLimiter(FakeTime())
    for _ in range(40):
        limiter.attempt("maija", "203.0.113.66")  # someone else guessing maija's password
    assert limiter.delay("maija", "203.0.113.66") == MAX_DELAY_S
    assert limiter.delay("maija", "10.0.0.9") == 0  # maija at her own desk


def test_a_success_forgets_the_pairs_attempts() -> None:
    limiter = LoginLimiter(FakeTime())
    for _ in range(7):
        limiter.attempt("maija", "10.0.0.9")
    limiter.succeeded("maija", "10.0.0.9")
    assert limiter.delay("maija", "10.0.0.9") == 0


def test_memory_stays_bounded_under_a_flood_of_usernames() -> None:
    limiter = LoginLimiter(FakeTime())
    for number in range(25_000):
        limiter.attempt(f"user{number}", f"10.{number % 250}.0.1")
    assert len(limiter._failures) <= 10_000 + 3


def test_the_http_login_waits_and_still_lets_the_right_password_in(
    client: TestClient, db: Database, waits: list[float]
) -> None:
    add_agent(db, "maija", ["neuvola"])
    for _ in range(7):
        assert attempt_login(client, "maija", "wrong password!") == 401
    assert waits == [0, 0, 0, 0, 0, 1, 2]
    assert attempt_login(client, "maija", PASSWORD) == 303  # slowed, never locked
    assert waits[-1] == 4


async def test_parallel_guesses_are_counted_before_the_password_is_checked(
    db: Database, settings, clock, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "_verify", slow_wrong_password)
    statuses = await parallel_logins(create_app(settings, clock), 8)
    assert set(statuses) == {401}
    assert sorted(waits) == [0, 0, 0, 0, 0, 1, 2, 4]  # counting after the check would give eight zeros


async def test_password_checks_run_two_at_a_time_and_a_crowd_is_refused_politely(
    db: Database, settings, clock, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "_verify", slow_wrong_password)
    statuses = await parallel_logins(create_app(settings, clock), 40)
    assert CONCURRENCY.peak == routes.HASH_CONCURRENCY == 2
    assert set(statuses) == {401, 429}  # a crowd beyond 16 waiting is refused politely, never a 500


class Concurrency:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.peak = 0


CONCURRENCY = Concurrency()


def slow_wrong_password(session, username: str, password: str) -> None:
    """Stands in for the Argon2 check: takes a while, then says no."""
    with CONCURRENCY.lock:
        CONCURRENCY.running += 1
        CONCURRENCY.peak = max(CONCURRENCY.peak, CONCURRENCY.running)
    time.sleep(0.05)
    with CONCURRENCY.lock:
        CONCURRENCY.running -= 1


async def parallel_logins(app, count: int) -> list[int]:
    """``count`` login attempts for maija sent at once; their status codes."""
    CONCURRENCY.peak = 0
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        token = CSRF_FIELD.search((await http.get("/desk/login")).text).group(1)
        cookie = {"Cookie": f"opastin_desk_login={http.cookies['opastin_desk_login']}"}
        http.cookies.clear()  # each failed login sets a new form cookie; keep the first for all
        data = {"username": "maija", "password": "guess", "csrf_token": token}
        attempts = (http.post("/desk/login", data=data, headers=cookie) for _ in range(count))
        responses = await asyncio.gather(*attempts)
    return [response.status_code for response in responses]
