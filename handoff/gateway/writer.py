"""The gateway's writes: one thread that stores what the relay hands it, several at a time.

Every message relayed between a resident and a professional is stored before
it is sent. Giving each one a worker thread of the event loop's pool (AnyIO's
40), a session and a transaction of its own made the writes queue at the
database's single writer (SQLite allows one) behind each other's transaction
set-up, lock hand-overs and thread switches: under 50 chats the queue, not the
work, was most of a message's way (docs/handoff.md, "Relay speed").

Here one thread runs the write operations in the order they were handed in.
What arrived while it was busy runs together in one transaction (group
commit), each operation in turn with the session as if it ran alone (its
changes flushed and its objects let go before the next starts); results go
back to the event loop in one call. If an operation of a batch fails, the
whole transaction is rolled back and each of the batch's operations runs again
in a transaction of its own, so that only the failing one fails and nothing of
it is stored. Actions after commit (:func:`handoff.db.after_commit`) run once,
for what was committed.

An operation may bring work to do first, outside the transaction (``before``:
the safety net's check of a resident's message, whose verdict is stored with
it): it runs on the same thread just before the batch's transaction starts,
which spares the message a second hand-over between threads.

Order: operations run strictly in the order of :meth:`Writer.run` calls, so
whatever one conversation stores under its lock is stored in that order.

A batch that fails because the database is out of reach (PostgreSQL restarting:
its connections dropped, new ones refused for a second) is written again after
about 4 s (:mod:`opastin.reconnect`) before its operations fail: a
resident's message acknowledged by the socket is then stored, not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from handoff.db import Database
from opastin.reconnect import again_while_unreachable

logger = logging.getLogger(__name__)

T = TypeVar("T")

# At most this many operations share a transaction; the rest wait for the next one.
MAX_BATCH = 64
STOP_TIMEOUT_S = 30.0
@dataclass(frozen=True)
class Job:
    """One write operation, and where its result goes."""

    operation: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    before: Callable[[], Any] | None = None


_Settled = tuple[Job, Any, BaseException | None]
_Ready = tuple[Job, tuple[Any, ...]]


def _prepare(jobs: list[Job]) -> tuple[list[_Settled], list[_Ready]]:
    """Run the jobs' ``before`` work: (the jobs it failed for, the jobs ready with its results)."""
    failed: list[_Settled] = []
    ready: list[_Ready] = []
    for job in jobs:
        if job.before is None:
            ready.append((job, ()))
            continue
        try:
            ready.append((job, (job.before(),)))
        except Exception as error:
            failed.append((job, None, error))
    return failed, ready


class Writer:
    """One thread that runs write operations in order, those waiting together in one transaction."""

    def __init__(self, database: Database, max_batch: int = MAX_BATCH) -> None:
        self.database = database
        self.max_batch = max_batch
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # starting, stopping and handing in: no job after the last
        self._stopped = False

    async def run(
        self, operation: Callable[..., T], *args: Any, before: Callable[[], Any] | None = None
    ) -> T:
        """Run ``operation(session, *args)`` in a write transaction of the writer thread; its result.

        With ``before``, ``operation(session, *args, before())``: ``before`` runs on the writer
        thread outside any transaction (keep it short: every write waits for it); if it
        raises, so does this call, and ``operation`` does not run.

        Like a worker thread, a write that has been handed over is not taken back: if the
        caller is cancelled meanwhile, the write still happens and its result is dropped.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._stopped:
                raise RuntimeError("the gateway's writer has stopped")
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="gateway-writer", daemon=True)
                self._thread.start()
            self._jobs.put(Job(operation, args, loop, future, before))
        return await asyncio.shield(future)

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called: the writer takes no more operations."""
        return self._stopped

    async def stop(self) -> None:
        """Finish the operations handed in so far, then end the thread; later calls are refused."""
        with self._lock:
            self._stopped = True
            thread = self._thread
            if thread is None:
                return
            self._jobs.put(None)
        await asyncio.get_running_loop().run_in_executor(None, thread.join, STOP_TIMEOUT_S)
        if thread.is_alive():
            logger.warning("the gateway's writer did not finish within %.0f s", STOP_TIMEOUT_S)

    # -- the writer thread ------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self.max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            try:
                failed, ready = _prepare(jobs)
                self._settle(failed + self._batch(ready))
            except BaseException as error:  # never leave a caller waiting forever
                logger.exception("the gateway's writer failed")
                self._settle([(job, None, error) for job in jobs])
            if stop:
                return

    def _batch(self, ready: list[_Ready]) -> list[_Settled]:
        """Run the operations in one transaction; if one fails, each in its own."""
        if not ready:
            return []
        try:
            results = self._transaction_reconnecting(ready)
        except Exception as error:
            if len(ready) == 1 or self._unreachable(error):  # alone, each would fail the same way
                return [(job, None, error) for job, _ in ready]
            settled: list[_Settled] = []
            for item in ready:
                settled += self._batch([item])
            return settled
        return [(job, result, None) for (job, _), result in zip(ready, results, strict=True)]

    def _transaction_reconnecting(self, ready: list[_Ready]) -> list[Any]:
        """:meth:`_transaction`, again after each pause while the database is out of reach."""
        return again_while_unreachable(lambda: self._transaction(ready), self._unreachable, "the database")

    def _transaction(self, ready: list[_Ready]) -> list[Any]:
        results: list[Any] = []
        with self.database.writing() as session:
            for job, extra in ready:
                results.append(job.operation(session, *job.args, *extra))
                # The next operation starts from the database as if it ran alone: no
                # objects an earlier one loaded (the relay's prepared statements change
                # rows without them).
                session.flush()
                session.expunge_all()
        return results

    def _unreachable(self, error: BaseException) -> bool:
        """A lost or refused connection to PostgreSQL (SQLite's errors are the file's: not retried)."""
        if not isinstance(error, OperationalError):
            return False
        return bool(error.connection_invalidated) or self.database.engine.dialect.name != "sqlite"

    @staticmethod
    def _settle(settled: list[_Settled]) -> None:
        """Hand the results to their loops: one call per loop for the whole batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
        for item in settled:
            by_loop.setdefault(item[0].loop, []).append(item)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
                loop.call_soon_threadsafe(_resolve, items)


def _resolve(items: list[_Settled]) -> None:
    for job, result, error in items:
        if job.future.done():
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)
