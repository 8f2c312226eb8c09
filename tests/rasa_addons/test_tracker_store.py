"""The SQL tracker store: conversations are stored in DATABASE_URL or a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy.exc import OperationalError

from rasa_addons import tracker_store
from rasa_addons.tracker_store import DatabaseUrlTrackerStore, resolve_database_url

ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_default_is_created_under_the_given_path(tmp_path: Path) -> None:
    url = resolve_database_url(None, str(tmp_path / "state" / "tracker.db"))
    assert url == f"sqlite:///{tmp_path / 'state' / 'tracker.db'}"
    assert (tmp_path / "state").is_dir()


@pytest.mark.parametrize(
    ("env_value", "expected"),
    [
        ("postgresql://u:p@db:5432/opastin", "postgresql://u:p@db:5432/opastin"),
        ("postgres://u:p@db/opastin", "postgresql://u:p@db/opastin"),
        ("  postgresql://db/opastin \n", "postgresql://db/opastin"),
    ],
)
def test_database_url_wins_and_is_normalised(env_value: str, expected: str, tmp_path: Path) -> None:
    assert resolve_database_url(env_value, str(tmp_path / "unused.db")) == expected
    assert not (tmp_path / "unused.db").exists()


def test_blank_database_url_falls_back_to_sqlite(tmp_path: Path) -> None:
    assert resolve_database_url("   ", str(tmp_path / "t.db")).startswith("sqlite:///")


def _conversation(sender_id: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender_id, slots=[])
    tracker.update(UserUttered("hei", intent={"name": "greet", "confidence": 0.99}))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered("Hei! Olen Opastin"))
    return tracker


async def test_endpoints_yml_loads_this_store_and_conversations_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new store instance (as after a Rasa restart) reads what the old one saved."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "test-token")  # endpoints.yml reads it
    monkeypatch.chdir(tmp_path)  # the default SQLite path is relative to the working directory
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    domain = Domain.empty()

    store = TrackerStore.create(config, domain=domain)
    assert isinstance(store, DatabaseUrlTrackerStore)  # not the in-memory fallback
    await store.save(_conversation("resident-1"))

    restarted = TrackerStore.create(config, domain=domain)
    tracker = await restarted.retrieve("resident-1")
    assert tracker is not None
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hei"]
    assert (tmp_path / "var" / "rasa-tracker.db").is_file()


async def test_postgresql_through_database_url(monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    store = DatabaseUrlTrackerStore(domain=Domain.empty())
    assert store.engine.dialect.name == "postgresql"
    await store.save(_conversation("resident-pg"))
    tracker = await DatabaseUrlTrackerStore(domain=Domain.empty()).retrieve("resident-pg")
    assert tracker is not None and tracker.latest_message.text == "hei"


def dropped() -> OperationalError:
    """What SQLAlchemy raises when the database dropped the connection (PostgreSQL restarting)."""
    closed = Exception("server closed the connection unexpectedly")
    return OperationalError("SELECT …", {}, closed, connection_invalidated=True)


async def test_a_turn_is_stored_once_the_database_answers_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(tracker_store, "RECONNECT_PAUSES_S", (0.01, 0.01, 0.01, 0.01))
    store = DatabaseUrlTrackerStore(domain=Domain.empty(), default_sqlite_path=str(tmp_path / "t.db"))
    real_save, failures = SQLTrackerStore.save, []

    async def save_after_two_drops(self: SQLTrackerStore, tracker: DialogueStateTracker) -> None:
        if len(failures) < 2:
            failures.append(tracker.sender_id)
            raise dropped()
        await real_save(self, tracker)

    monkeypatch.setattr(SQLTrackerStore, "save", save_after_two_drops)
    await store.save(DialogueStateTracker.from_events("r1", [UserUttered("hei", message_id="m1")]))

    assert failures == ["r1", "r1"]
    stored = await store.retrieve("r1")
    assert [event.message_id for event in stored.events if isinstance(event, UserUttered)] == ["m1"]


async def test_a_sqlite_files_own_error_is_not_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    store = DatabaseUrlTrackerStore(domain=Domain.empty(), default_sqlite_path=str(tmp_path / "t.db"))
    attempts = []

    async def locked(self: SQLTrackerStore, sender_id: str) -> None:
        attempts.append(sender_id)
        raise OperationalError("SELECT …", {}, Exception("database is locked"))

    monkeypatch.setattr(SQLTrackerStore, "retrieve", locked)
    with pytest.raises(OperationalError):
        await store.retrieve("r1")
    assert attempts == ["r1"]
