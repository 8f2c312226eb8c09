"""Exceptions in logs as their type and stack frames only.

An exception's message can hold what a resident wrote: PostgreSQL's "Failing
row contains (…, <the message>, …)", a validation error quoting its input.
:func:`withhold_exception_messages` makes every log record of the process carry
its exception as a stand-in that names the type and keeps the frames, so a
traceback still shows where things went wrong.
"""

from __future__ import annotations

import logging
from typing import Any


class WithheldMessage(Exception):
    """Stands in for a logged exception whose message is not written to the log."""


def withhold_exception_messages() -> None:
    """Install the record factory that replaces logged exceptions (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "withholds_messages", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.exc_info and record.exc_info[1] is not None:
            kind, _value, frames = record.exc_info
            name = f"{kind.__module__}.{kind.__qualname__}"
            record.exc_info = (WithheldMessage, WithheldMessage(f"{name} (message withheld)"), frames)
        return record

    factory.withholds_messages = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
