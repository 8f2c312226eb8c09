"""The SQL tracker store: conversations are stored in DATABASE_URL or a SQLite file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy.exc import OperationalError

from opastin import reconnect
from rasa_addons import tracker_store
from rasa_addons.tracker_store import DatabaseUrlTrackerStore, resolve_database_url, still_in_force

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
    monkeypatch.setattr(reconnect, "PAUSES_S", (0.01, 0.01, 0.01, 0.01))
    store = DatabaseUrlTrackerStore(domain=Domain.empty(), default_sqlite_path=str(tmp_path / "t.db"))
    real_save, failures = DatabaseUrlTrackerStore._store_new_events, []

    async def save_after_two_drops(self: DatabaseUrlTrackerStore, tracker: DialogueStateTracker) -> None:
        if len(failures) < 2:
            failures.append(tracker.sender_id)
            raise dropped()
        await real_save(self, tracker)

    monkeypatch.setattr(DatabaseUrlTrackerStore, "_store_new_events", save_after_two_drops)
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

    def locked(self: DatabaseUrlTrackerStore, session: object, sender_id: str) -> None:
        attempts.append(sender_id)
        raise OperationalError("SELECT …", {}, Exception("database is locked"))

    monkeypatch.setattr(DatabaseUrlTrackerStore, "_recent_rows", locked)
    with pytest.raises(OperationalError):
        await store.retrieve("r1")
    assert attempts == ["r1"]


def _long_conversation(turns: int) -> list[Event]:
    """A session whose first turn sets a slot and starts a form, then ``turns`` more turns."""
    events: list[Event] = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("haluan jättää yhteydenottopyynnön", message_id="m0"),
        SlotSet("team", "terveysneuvonta"),
        ActionExecuted("contact_form"),
        ActiveLoop("contact_form"),
        ActionExecuted("action_listen"),
    ]
    for turn in range(1, turns + 1):
        events += [
            UserUttered(f"viesti {turn}", message_id=f"m{turn}"),
            SlotSet("phone", f"040 {turn}"),
            BotUttered(f"vastaus {turn}"),
            ActionExecuted("action_listen"),
        ]
    return events


def _slots_domain() -> Domain:
    return Domain.from_dict(
        {
            "slots": {
                name: {"type": "text", "mappings": [{"type": "custom"}]} for name in ("team", "phone")
            },
            "forms": {"contact_form": {"required_slots": ["phone"]}},
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A tracker store's database: a SQLite file, then PostgreSQL (under ``make test``)."""
    if request.param == "sqlite":
        monkeypatch.delenv("DATABASE_URL", raising=False)
        return str(tmp_path / "t.db")
    monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_url"))
    return ""


@pytest.mark.parametrize("rows_per_turn", [30, 1], ids=["latest rows", "turns longer than the rows read"])
async def test_a_long_conversation_is_read_bounded_with_its_state_and_saved_whole(
    database: str, rows_per_turn: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the recent turns are read back, with the slots and the form set long before them;
    what the bot adds to such a tracker is stored after every earlier event, none lost or repeated."""
    monkeypatch.setattr(tracker_store, "ROWS_PER_TURN", rows_per_turn)
    store = DatabaseUrlTrackerStore(domain=_slots_domain(), default_sqlite_path=database, recent_turns=5)
    sender = f"long-{uuid.uuid4().hex}"  # the PostgreSQL database is shared by the tests
    everything = _long_conversation(turns=30)
    await store.save(DialogueStateTracker.from_events(sender, everything, _slots_domain().slots))

    tracker = await store.retrieve(sender)

    said = [event.text for event in tracker.events if isinstance(event, UserUttered)]
    assert said == [f"viesti {turn}" for turn in range(26, 31)]
    assert len(tracker.events) < len(everything) / 3
    assert tracker.get_slot("team") == "terveysneuvonta"  # set in the first turn, long before
    assert tracker.get_slot("phone") == "040 30"
    assert tracker.active_loop_name == "contact_form"
    assert tracker.latest_message.text == "viesti 30"

    tracker.update(UserUttered("viesti 31", message_id="m31"))
    tracker.update(BotUttered("vastaus 31"))
    await store.save(tracker)
    await store.save(tracker)  # saving again stores nothing twice

    stored = await store.retrieve_full_tracker(sender)
    assert [event.message_id for event in stored.events if isinstance(event, UserUttered)] == [
        f"m{turn}" for turn in range(32)
    ]
    assert len(stored.events) == len(everything) + 2


@pytest.mark.parametrize("fetch_all", [False, True], ids=["latest session", "all sessions"])
async def test_the_sessions_events_are_those_rasas_own_query_finds(database: str, fetch_all: bool) -> None:
    """The session's start is read as a value first (PostgreSQL ran Rasa's subquery once per row):
    the same events, in the same order, as Rasa's own query finds, for a conversation of two sessions."""
    store = DatabaseUrlTrackerStore(domain=_slots_domain(), default_sqlite_path=database)
    sender = f"sessions-{uuid.uuid4().hex}"
    first, second = _long_conversation(turns=2), _long_conversation(turns=3)
    for event in second:
        event.timestamp += 3600  # the second session an hour later
    await store.save(DialogueStateTracker.from_events(sender, first + second, _slots_domain().slots))

    with store.session_scope() as session:
        ours = [row.id for row in store._event_query(session, sender, fetch_all)]
        rasas = [row.id for row in SQLTrackerStore._event_query(store, session, sender, fetch_all)]

    assert ours == rasas
    assert len(ours) == len(first + second) if fetch_all else len(second)


async def test_a_short_conversation_is_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    store = DatabaseUrlTrackerStore(
        domain=_slots_domain(), default_sqlite_path=str(tmp_path / "t.db"), recent_turns=5
    )
    everything = _long_conversation(turns=3)
    await store.save(DialogueStateTracker.from_events("r1", everything, _slots_domain().slots))

    tracker = await store.retrieve("r1")

    as_rasa_reads_it = await SQLTrackerStore.retrieve(store, "r1")
    assert list(tracker.events) == list(as_rasa_reads_it.events)
    assert await store.retrieve("someone else") is None


STATE_EVENTS = st.one_of(
    st.builds(SlotSet, st.sampled_from(["team", "phone"]), st.sampled_from(["a", "b", None])),
    st.builds(ActiveLoop, st.sampled_from(["contact_form", None])),
    st.builds(AllSlotsReset),
    st.builds(Restarted),
    st.builds(ConversationPaused),
    st.builds(ConversationResumed),
)


@given(st.lists(STATE_EVENTS, max_size=30))
def test_the_state_events_kept_leave_the_conversation_in_the_same_state(events: list[Event]) -> None:
    """Replaying only what :func:`still_in_force` keeps, of every row or of the latest of each kind (the
    grouped query), gives the slots, form and pause of replaying all."""
    rows = [(index, event.type_name, event.as_dict().get("name")) for index, event in enumerate(events)]
    latest_of_each = {(kind, name if kind == "slot" else None): row_id for row_id, kind, name in rows}
    grouped = sorted((row_id, kind, name) for (kind, name), row_id in latest_of_each.items())  # as the SQL

    slots = _slots_domain().slots
    whole = DialogueStateTracker.from_events("r", events, slots)
    for given_rows in (rows, grouped):
        kept = [events[index] for index in still_in_force(given_rows)]
        bounded = DialogueStateTracker.from_events("r", kept, slots)
        assert bounded.current_slot_values() == whole.current_slot_values()
        assert bounded.active_loop_name == whole.active_loop_name
        assert bounded.is_paused() == whole.is_paused()


async def test_rows_are_written_as_rasas_own_store_writes_them(database: str) -> None:
    """Rasa's tools (and the retention purge) read these rows: same columns, same values."""
    store = DatabaseUrlTrackerStore(domain=_slots_domain(), default_sqlite_path=database)
    ours, rasas = (f"{name}-{uuid.uuid4().hex}" for name in ("ours", "rasas"))
    events = _long_conversation(turns=2)
    events[3] = UserUttered("hei", {"name": "greet", "confidence": 0.9}, message_id="m0")
    await store.save(DialogueStateTracker.from_events(ours, events, _slots_domain().slots))
    await SQLTrackerStore.save(store, DialogueStateTracker.from_events(rasas, events, _slots_domain().slots))

    def rows(sender_id: str) -> list[tuple[object, ...]]:
        table = store.SQLEvent
        with store.session_scope() as session:
            query = session.query(table).filter(table.sender_id == sender_id).order_by(table.id)
            return [(r.type_name, r.timestamp, r.intent_name, r.action_name, r.data) for r in query]

    assert rows(ours) == rows(rasas)
    assert ("user", events[3].timestamp, "greet", None, json.dumps(events[3].as_dict())) in rows(ours)
