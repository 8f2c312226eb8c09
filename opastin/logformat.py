"""The log format of the service and the action server: text as before, or one JSON object a line.

``OPASTIN_LOG_FORMAT=json`` makes a process write every log record as one line
of JSON with ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``,
plus ``exception`` when a record carries one. Anything else, or nothing, keeps
the text format each process has always had. Levels do not change with the
format. In JSON mode Python's warnings are logged as records too (logger
``py.warnings``); only a warning a library prints while it is imported, before
logging is set up, can still come as a plain line.

An exception is written as its type and stack frames only, never its message
(which may quote what a resident wrote), also when
:func:`opastin.logsafe.withhold_exception_messages` was not installed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType

from opastin.logsafe import WithheldMessage

FORMAT_ENV = "OPASTIN_LOG_FORMAT"
JSON = "json"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def json_logs(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``OPASTIN_LOG_FORMAT`` asks for JSON lines."""
    env = os.environ if environ is None else environ
    return (env.get(FORMAT_ENV) or "").strip().lower() == JSON


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON: ``time``, ``level``, ``logger``, ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line (newlines inside are escaped)."""
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = exception_text(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def exception_text(exc_info: ExcInfo) -> str:
    """An exception as its stack frames and its type, with the message withheld."""
    kind, value, frames = exc_info
    if isinstance(value, WithheldMessage):
        summary = f"{WithheldMessage.__module__}.WithheldMessage: {value}"
    else:
        summary = f"{kind.__module__}.{kind.__qualname__} (message withheld)"
    return "Traceback (most recent call last):\n" + "".join(traceback.format_tb(frames)) + summary


def formatter(environ: Mapping[str, str] | None = None) -> logging.Formatter:
    """The formatter ``OPASTIN_LOG_FORMAT`` asks for: JSON, or the text format."""
    return JsonFormatter() if json_logs(environ) else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: int, environ: Mapping[str, str] | None = None) -> None:
    """Log to standard error at ``level`` in the configured format (instead of ``logging.basicConfig``).

    Does nothing when the root logger has handlers already, as ``basicConfig`` does.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(environ))
    root.addHandler(handler)
    root.setLevel(level)
    if json_logs(environ):
        logging.captureWarnings(True)  # Python's warnings as records too, not as bare lines


def use_json_for_configured_loggers(
    environ: Mapping[str, str] | None = None, loggers: Iterable[logging.Logger] | None = None
) -> bool:
    """With ``OPASTIN_LOG_FORMAT=json``, make every handler already configured write JSON lines.

    For a process whose server configured logging before the app was built
    (uvicorn): the handlers of ``loggers`` (default: the root logger and every
    logger created so far) get the :class:`JsonFormatter`, and a root logger
    without a handler gets one on standard error, where records without a
    handler went anyway. Returns whether JSON was asked for; otherwise nothing changes.
    """
    if not json_logs(environ):
        return False
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    if loggers is None:
        existing = logging.Logger.manager.loggerDict.values()
        loggers = [root, *(logger for logger in existing if isinstance(logger, logging.Logger))]
    json_formatter = JsonFormatter()
    for logger in loggers:
        for handler in logger.handlers:
            handler.setFormatter(json_formatter)
    logging.captureWarnings(True)  # Python's warnings as records too, not as bare lines
    return True
