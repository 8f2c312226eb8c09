"""Rasa's structlog output keeps the residents' words out of the logs."""

from __future__ import annotations

import logging

import pytest
import structlog
from rasa.utils.log_utils import configure_structlog

from rasa_addons.private_logging import REDACTED, keep_logs_private

SECRET = "mun hetu on 131052-308T ja rintaa puristaa"


def fail_with_the_message_in_a_local() -> None:
    message = SECRET  # noqa: F841 - a local variable, as Rasa's frames have the tracker
    raise ValueError(f"Failing row contains ({SECRET})")  # as PostgreSQL's errors quote the row


def logged_after(caplog: pytest.LogCaptureFixture, private: bool) -> str:
    configure_structlog(logging.INFO)  # as `rasa run` does; not a terminal: JSON with tracebacks
    if private:
        keep_logs_private()
    logger = structlog.get_logger("rasa.test")
    with caplog.at_level(logging.INFO):
        logger.info("rest.message.received", text=SECRET, user_message=SECRET)
        try:
            fail_with_the_message_in_a_local()
        except ValueError:
            logger.exception("rest.message.received.failure", text=SECRET)
    return "\n".join(record.getMessage() for record in caplog.records)


def test_without_it_rasa_would_log_the_message(caplog: pytest.LogCaptureFixture) -> None:
    assert SECRET in logged_after(caplog, private=False)


def test_fields_are_redacted_and_tracebacks_lose_their_locals(caplog: pytest.LogCaptureFixture) -> None:
    logged = logged_after(caplog, private=True)
    assert "131052" not in logged and "rintaa" not in logged
    assert REDACTED in logged and "fail_with_the_message_in_a_local" in logged  # the frames stay


def test_it_can_run_twice(caplog: pytest.LogCaptureFixture) -> None:
    keep_logs_private()
    keep_logs_private()
    processors = structlog.get_config()["processors"]
    assert (
        sum(
            processor.__name__ == "redact_private_fields"
            for processor in processors
            if hasattr(processor, "__name__")
        )
        == 1
    )
