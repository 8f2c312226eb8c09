"""Trying again while the database is out of reach, and only then."""

from __future__ import annotations

import asyncio

import pytest

from opastin import reconnect


class Dropped(Exception):
    """The database dropped the connection."""


def failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "stored"

    return calls, attempt


@pytest.fixture(autouse=True)
def short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reconnect, "PAUSES_S", (0.0, 0.0, 0.0))


def unreachable(error: Exception) -> bool:
    return isinstance(error, Dropped)


def test_an_operation_succeeds_once_the_database_answers_again() -> None:
    calls, attempt = failing(3, Dropped())
    assert reconnect.again_while_unreachable(attempt, unreachable, "the database") == "stored"
    assert len(calls) == 4


def test_it_gives_up_after_the_last_pause() -> None:
    calls, attempt = failing(10, Dropped())
    with pytest.raises(Dropped):
        reconnect.again_while_unreachable(attempt, unreachable, "the database")
    assert len(calls) == 4  # once per pause, then the last attempt


def test_other_errors_are_not_tried_again() -> None:
    calls, attempt = failing(1, ValueError("a bug"))
    with pytest.raises(ValueError):
        reconnect.again_while_unreachable(attempt, unreachable, "the database")
    assert len(calls) == 1


def test_a_coroutine_is_tried_again_the_same_way() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise Dropped()
        return "stored"

    stored = asyncio.run(reconnect.again_while_unreachable_async(attempt, unreachable, "the tracker store"))
    assert stored == "stored" and len(calls) == 3
