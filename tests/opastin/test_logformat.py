"""The log format: text as before by default, one JSON object a line with OPASTIN_LOG_FORMAT=json."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator

import pytest

from opastin.logformat import (
    TEXT_FORMAT,
    JsonFormatter,
    configure_logging,
    formatter,
    json_logs,
    use_json_for_configured_loggers,
)
from opastin.logsafe import withhold_exception_messages

SECRET = "asukkaan viesti 131052-308T"
JSON_ENV = {"OPASTIN_LOG_FORMAT": "json"}


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing to a string, removed afterwards."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    log = logging.getLogger("opastin.test_logformat")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log, output
    log.handlers.clear()
    log.propagate = True


@pytest.fixture(autouse=True)
def warnings_not_captured() -> Iterator[None]:
    """JSON mode sends Python's warnings to logging; give them back to pytest afterwards."""
    yield
    logging.captureWarnings(False)


def lines(output: io.StringIO) -> list[dict[str, str]]:
    """Every line written, parsed as JSON (fails on any line that is not)."""
    return [json.loads(line) for line in output.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OPASTIN_LOG_FORMAT": ""}, False),
        ({"OPASTIN_LOG_FORMAT": "text"}, False),
        (JSON_ENV, True),
        ({"OPASTIN_LOG_FORMAT": " JSON "}, True),
    ],
)
def test_only_json_asks_for_json(environ: dict[str, str], wanted: bool) -> None:
    assert json_logs(environ) is wanted
    assert isinstance(formatter(environ), JsonFormatter) is wanted


def test_a_record_is_one_line_of_json_with_time_level_logger_and_message(logger) -> None:
    log, output = logger
    log.handlers[0].setFormatter(JsonFormatter())
    log.warning("closed %d waiting conversations\nsecond line", 3)
    (entry,) = lines(output)
    assert entry["level"] == "WARNING" and entry["logger"] == "opastin.test_logformat"
    assert entry["message"] == "closed 3 waiting conversations\nsecond line"
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    assert set(entry) == {"time", "level", "logger", "message"}


@pytest.mark.parametrize("factory_installed", [True, False])
def test_an_exception_keeps_its_type_and_frames_never_its_message(logger, factory_installed: bool) -> None:
    log, output = logger
    log.handlers[0].setFormatter(JsonFormatter())
    if factory_installed:
        withhold_exception_messages()
        record_factory = None
    else:  # the formatter withholds the message on its own too
        record_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(logging.LogRecord)
    try:
        raise ValueError(SECRET)
    except ValueError:
        log.exception("storing failed")
    finally:
        if record_factory is not None:
            logging.setLogRecordFactory(record_factory)
    (entry,) = lines(output)
    assert entry["message"] == "storing failed"
    assert "ValueError" in entry["exception"] and "test_logformat.py" in entry["exception"]
    assert "message withheld" in entry["exception"]
    assert SECRET not in output.getvalue() and "131052" not in output.getvalue()


def test_without_the_setting_configured_loggers_keep_their_format(logger) -> None:
    log, output = logger
    assert use_json_for_configured_loggers({}, [log]) is False
    log.info("hello")
    assert output.getvalue().split(" ", 2)[2] == "INFO opastin.test_logformat: hello\n"


def test_with_the_setting_configured_loggers_write_json(logger) -> None:
    log, output = logger
    assert use_json_for_configured_loggers(JSON_ENV, [log]) is True
    log.info("Application startup complete.")
    log.error("bot unavailable")
    assert [(entry["level"], entry["message"]) for entry in lines(output)] == [
        ("INFO", "Application startup complete."),
        ("ERROR", "bot unavailable"),
    ]


@contextlib.contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without handlers, as in a fresh process (pytest's own restored afterwards)."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        yield root
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def test_configure_logging_writes_json_to_standard_error(capsys: pytest.CaptureFixture[str]) -> None:
    with bare_root():
        configure_logging(logging.WARNING, JSON_ENV)
        logging.getLogger("actions.test").info("not at this level")
        logging.getLogger("actions.test").warning("outbox delivery failed")
    (entry,) = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "actions.test",
        "outbox delivery failed",
    )


def test_configure_logging_keeps_the_text_format_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    with bare_root():
        configure_logging(logging.WARNING, {})
        logging.getLogger("actions.test").warning("outbox delivery failed")
    assert capsys.readouterr().err.rstrip().endswith(" WARNING actions.test: outbox delivery failed")
