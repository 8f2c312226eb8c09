"""Logs carry no resident's words: database errors are logged without their parameters.

Each test fails if its protection is removed (``hide_parameters`` on the service's engine
and on Rasa's tracker store engine). The rest of this property is tested where it lives:
Rasa's structlog output (tests/rasa_addons/test_private_logging.py), the REST channel's
failure log (tests/rasa_addons/test_rest_channel.py), the action server's error answer
(tests/actions/test_server.py) and a whole chat through ``make run`` whose ``var/log`` is
scanned afterwards (tests/integration/test_make_run.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from handoff.db import Database
from handoff.models import Feedback
from rasa_addons.tracker_store import DatabaseUrlTrackerStore
from tests.handoff.conftest import TUESDAY_NOON

SECRET = "salainen viesti asukkaalta"


def test_a_database_error_does_not_carry_the_text(db: Database) -> None:
    with pytest.raises(IntegrityError) as caught, db.writing() as session:
        session.add(Feedback(conversation_id="w-x", rating=9, comment=SECRET, created_at=TUESDAY_NOON))
    assert SECRET not in str(caught.value)


def test_the_tracker_stores_engine_hides_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    store = DatabaseUrlTrackerStore(default_sqlite_path=str(tmp_path / "tracker.db"))
    assert store.engine.hide_parameters is True
    store.engine.dispose()
