"""The gateway's writer thread (handoff/gateway/writer.py): order, shared transactions, failures that
stay with their own operation, work before the transaction, cancellation and stopping."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from handoff import audit
from handoff.db import Database, after_commit
from handoff.gateway.writer import Writer
from handoff.models import AuditEntry
from opastin import reconnect
from tests.handoff.conftest import TUESDAY_NOON


@pytest.fixture
async def writer(db: Database) -> AsyncIterator[Writer]:
    writer = Writer(db)
    yield writer
    await writer.stop()


def store(session: Session, name: str, seen: list[tuple[str, Session]] | None = None) -> str:
    """An operation: one audit row named ``name``; notes which session (transaction) stored it."""
    audit.record(session, "test", name, None, TUESDAY_NOON)
    if seen is not None:
        seen.append((name, session))  # kept alive, so that sessions' ids stay apart
    return name


def fail(session: Session, name: str) -> None:
    """An operation that stores a row and then fails."""
    audit.record(session, "test", name, None, TUESDAY_NOON)
    session.flush()
    raise ValueError(f"{name} failed")


def stored(db: Database) -> list[str]:
    with db.reading() as session:
        return list(session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


async def blocked(writer: Writer) -> tuple[asyncio.Future[Any], threading.Event]:
    """Keep the writer busy until the returned event is set, so that what comes next waits together."""
    started, release = threading.Event(), threading.Event()

    def hold(session: Session) -> None:
        started.set()
        release.wait(10)

    busy = asyncio.ensure_future(writer.run(hold))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
    return busy, release


async def test_writes_run_in_order_and_those_that_waited_share_a_transaction(
    writer: Writer, db: Database
) -> None:
    busy, release = await blocked(writer)
    seen: list[tuple[str, Session]] = []
    names = [f"op{number}" for number in range(20)]
    waiting = [asyncio.ensure_future(writer.run(store, name, seen)) for name in names]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*waiting) == names
    await busy
    assert [name for name, _ in seen] == names == stored(db)
    assert len({id(session) for _, session in seen}) == 1  # one transaction for all that waited


async def test_a_failing_write_fails_alone_and_leaves_nothing(writer: Writer, db: Database) -> None:
    busy, release = await blocked(writer)
    counted: list[str] = []

    def counting(session: Session, name: str) -> str:
        after_commit(session, partial(counted.append, name))
        return store(session, name)

    first = asyncio.ensure_future(writer.run(counting, "first"))
    failing = asyncio.ensure_future(writer.run(fail, "failing"))
    last = asyncio.ensure_future(writer.run(counting, "last"))
    await asyncio.sleep(0.05)
    release.set()
    await busy
    assert await first == "first" and await last == "last"
    with pytest.raises(ValueError, match="failing failed"):
        await failing
    assert stored(db) == ["first", "last"]
    assert counted == ["first", "last"]  # actions after commit once each, none for the failed one


async def test_each_write_of_a_batch_reads_the_database_not_an_earlier_ones_objects(
    writer: Writer, db: Database
) -> None:
    await writer.run(store, "original")
    entries = AuditEntry.__table__

    def load(session: Session) -> AuditEntry:
        return session.execute(select(AuditEntry)).scalar_one()  # kept: the result holds it

    def change(session: Session) -> None:  # as the relay's prepared statements do: no objects
        session.execute(entries.update().values(action="changed"))

    def read(session: Session) -> str:
        return str(session.execute(select(AuditEntry)).scalar_one().action)

    busy, release = await blocked(writer)
    loaded = asyncio.ensure_future(writer.run(load))
    changed = asyncio.ensure_future(writer.run(change))
    seen = asyncio.ensure_future(writer.run(read))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(busy, loaded, changed)
    assert (await loaded).action == "original"
    assert await seen == "changed"


async def test_work_before_runs_outside_the_transaction_and_its_failure_is_its_own(
    writer: Writer, db: Database
) -> None:
    def outside() -> str:
        # A write of its own: inside the writer's transaction this would wait forever on SQLite.
        with db.writing() as session:
            audit.record(session, "test", "before", None, TUESDAY_NOON)
        return "checked"

    def broken() -> str:
        raise RuntimeError("the check failed")

    def with_verdict(session: Session, name: str, verdict: str) -> str:
        return store(session, f"{name}:{verdict}")

    busy, release = await blocked(writer)
    good = asyncio.ensure_future(writer.run(with_verdict, "good", before=outside))
    bad = asyncio.ensure_future(writer.run(with_verdict, "bad", before=broken))
    plain = asyncio.ensure_future(writer.run(store, "plain"))
    await asyncio.sleep(0.05)
    release.set()
    await busy
    assert await asyncio.wait_for(good, 10) == "good:checked"
    with pytest.raises(RuntimeError, match="the check failed"):
        await bad
    assert await plain == "plain"
    assert stored(db) == ["before", "good:checked", "plain"]


async def test_a_cancelled_caller_does_not_take_its_write_back(writer: Writer, db: Database) -> None:
    busy, release = await blocked(writer)
    cancelled = asyncio.ensure_future(writer.run(store, "cancelled"))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    release.set()
    await busy
    assert await writer.run(store, "after") == "after"
    assert stored(db) == ["cancelled", "after"]


async def test_stopping_finishes_what_was_handed_in_and_refuses_the_rest(
    writer: Writer, db: Database
) -> None:
    busy, release = await blocked(writer)
    waiting = [asyncio.ensure_future(writer.run(store, f"op{number}")) for number in range(3)]
    await asyncio.sleep(0.05)
    stopping = asyncio.ensure_future(writer.stop())
    await asyncio.sleep(0.05)
    with pytest.raises(RuntimeError, match="stopped"):
        await writer.run(store, "late")
    release.set()
    await stopping
    await busy
    assert await asyncio.gather(*waiting) == ["op0", "op1", "op2"]
    assert stored(db) == ["op0", "op1", "op2"]


async def test_batches_are_bounded(db: Database) -> None:
    writer = Writer(db, max_batch=4)
    try:
        busy, release = await blocked(writer)
        seen: list[tuple[str, Session]] = []
        waiting = [asyncio.ensure_future(writer.run(store, f"op{number}", seen)) for number in range(10)]
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(busy, *waiting)
        sizes = Counter(id(session) for _, session in seen)
        assert sorted(sizes.values()) == [2, 4, 4]
        assert [name for name, _ in seen] == [f"op{number}" for number in range(10)]
    finally:
        await writer.stop()


def lost_connection() -> OperationalError:
    """What SQLAlchemy raises when the database dropped the connection (PostgreSQL restarting)."""
    return OperationalError(
        "INSERT …", {}, Exception("server closed the connection"), connection_invalidated=True
    )


async def test_a_write_the_database_dropped_is_written_again_once_it_answers(
    writer: Writer, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconnect, "PAUSES_S", (0.01, 0.01, 0.01, 0.01))
    attempts = []

    def store_when_back(session: Session, name: str) -> str:
        attempts.append(name)
        if len(attempts) < 3:
            raise lost_connection()
        return store(session, name)

    assert await writer.run(store_when_back, "kolmas yritys") == "kolmas yritys"
    assert attempts == ["kolmas yritys"] * 3
    with db.reading() as session:
        assert session.execute(select(AuditEntry.action)).scalars().all() == ["kolmas yritys"]


async def test_a_database_out_of_reach_fails_every_write_of_the_batch_after_the_pauses(
    writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconnect, "PAUSES_S", (0.01, 0.01))
    attempts = []

    def unreachable(session: Session, name: str) -> None:
        attempts.append(name)
        raise lost_connection()

    results = await asyncio.gather(
        *(writer.run(unreachable, f"w{n}") for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, OperationalError) for result in results)
    assert len(attempts) <= 3 * 3  # tried again as a batch, never one by one on top
