"""Trying an operation again while its database is out of reach (PostgreSQL restarting).

A restart drops the connections and refuses new ones for a second or two. The
handoff service's writer and Rasa's tracker store both try again after each of
:data:`PAUSES_S`, about 4 s in all, before the operation fails: a message the
resident saw as sent is then stored, not lost (the fault suite, docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")

PAUSES_S: Sequence[float] = (0.25, 0.5, 1.0, 2.0)

Unreachable = Callable[[Exception], bool]


def _note(what: str, error: Exception) -> None:
    logger.warning("%s is out of reach (%s); trying again", what, type(error).__name__)


def again_while_unreachable(attempt: Callable[[], T], unreachable: Unreachable, what: str) -> T:
    """``attempt()``, again after each of :data:`PAUSES_S` while it fails with an error ``unreachable``
    says is the database being out of reach (sleeps: for a worker thread)."""
    for pause in PAUSES_S:
        try:
            return attempt()
        except Exception as error:
            if not unreachable(error):
                raise
            _note(what, error)
            time.sleep(pause)
    return attempt()


async def again_while_unreachable_async(
    attempt: Callable[[], Awaitable[T]], unreachable: Unreachable, what: str
) -> T:
    """:func:`again_while_unreachable` for a coroutine: the pauses let the event loop run."""
    for pause in PAUSES_S:
        try:
            return await attempt()
        except Exception as error:
            if not unreachable(error):
                raise
            _note(what, error)
            await asyncio.sleep(pause)
    return await attempt()
