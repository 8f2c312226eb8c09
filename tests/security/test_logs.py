"""Logs carry no resident's words: logged exceptions keep their type and frames, not their
messages (PostgreSQL quotes the failing row), and database errors hide their parameters.

Each test fails if its protection is removed (the log record factory of
:mod:`opastin.logsafe`, ``hide_parameters`` on Rasa's tracker store engine).
The rest of this property is tested where it lives:
Rasa's structlog output (tests/rasa_addons/test_private_logging.py), the REST channel's
failure log (tests/rasa_addons/test_rest_channel.py), the action server's error answer
(tests/actions/test_server.py) and a whole chat through ``make run`` whose ``var/log`` is
scanned afterwards (tests/integration/test_make_run.py).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from handoff.db import Database
from handoff.models import Feedback
from opastin.logsafe import withhold_exception_messages
from rasa_addons.tracker_store import DatabaseUrlTrackerStore
from tests.handoff.conftest import TUESDAY_NOON

SECRET = "salainen viesti asukkaalta"


def test_a_logged_database_error_does_not_carry_the_text(db: Database) -> None:
    withhold_exception_messages()
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    logger = logging.getLogger("handoff.test_logs")
    logger.addHandler(handler)
    try:
        with db.writing() as session:
            session.add(Feedback(conversation_id="w-x", rating=9, comment=SECRET, created_at=TUESDAY_NOON))
    except IntegrityError:
        logger.exception("storing feedback failed")  # PostgreSQL's message quotes the failing row
    finally:
        logger.removeHandler(handler)
    logged = output.getvalue()
    assert "IntegrityError (message withheld)" in logged and "test_logs.py" in logged  # type and frames
    assert SECRET not in logged


def test_the_tracker_stores_engine_hides_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    store = DatabaseUrlTrackerStore(default_sqlite_path=str(tmp_path / "tracker.db"))
    assert store.engine.hide_parameters is True
    store.engine.dispose()
