"""Storage and the service layer, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

import re
from datetime import UTC, date, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from handoff import agents
from handoff.contact import create_contact_request
from handoff.db import Database, create_db_engine, migrate
from handoff.errors import (
    AlreadyQueued,
    Conflict,
    Forbidden,
    NobodyPresent,
    NotQueued,
    QueueFull,
    TeamClosed,
    UnknownConversation,
)
from handoff.feedback import store_feedback
from handoff.maintenance import run_once
from handoff.models import AuditEntry, Base, ContactRequest, Conversation, Feedback, Message, QueueEntry
from handoff.queue import (
    DEFAULT_SLOT_S,
    accept_next,
    enqueue,
    ewma,
    leave_queue,
    queue_status,
    team_state,
    team_states,
)
from handoff.retention import purge_handoff_tables
from opastin import messages
from opastin.finnish_time import reply_promise
from opastin.privacy import HETU_MASK
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON, add_agent

NOW = TUESDAY_NOON


def join(db: Database, teams: Teams, conversation_id: str, team_id: str = "terveysneuvo", now=NOW):
    with db.writing() as session:
        return enqueue(session, teams.get(team_id), conversation_id, "Kysymys reseptistä", [], now)


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # idempotent
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_times_are_stored_in_utc_and_read_back_aware(db: Database) -> None:
    with db.writing() as session:
        feedback_id = store_feedback(session, rating=4, comment=None, conversation_id=None, now=NOW)
    with db.reading() as session:
        stored = session.get(Feedback, feedback_id).created_at
    assert stored == NOW
    assert stored.tzinfo is UTC


def test_agents_passwords_and_roles(db: Database) -> None:
    with db.writing() as session:
        agents.create_agent(session, "maija", "correct horse battery", NOW, team_ids=["neuvola"])
        assert not agents.admin_exists(session)
        agents.create_agent(session, "admin", "another long password", NOW, role="admin")
        assert agents.admin_exists(session)
    with db.writing() as session:
        agent = agents.authenticate(session, "maija", "correct horse battery")
        assert agent is not None and agent.password_hash.startswith("$argon2")
        assert agents.authenticate(session, "maija", "wrong password!!") is None
        assert agents.authenticate(session, "nobody", "correct horse battery") is None
        agent.active = False
    with db.writing() as session:
        assert agents.authenticate(session, "maija", "correct horse battery") is None
    with pytest.raises(Conflict), db.writing() as session:
        agents.create_agent(session, "maija", "correct horse battery", NOW)


@pytest.mark.parametrize(
    ("username", "password", "teams"),
    [("Maija Meikäläinen", "correct horse battery", []), ("maija", "short", []), ("maija", "x" * 12, ["x"])],
)
def test_bad_agent_input(db: Database, username: str, password: str, teams: list[str]) -> None:
    with pytest.raises(ValueError), db.writing() as session:
        agents.create_agent(session, username, password, NOW, team_ids=teams, known_teams=("neuvola",))


def test_presence_on_and_off(db: Database, teams: Teams) -> None:
    agent = add_agent(db, "maija", ["neuvola", "katilot"], present=False)
    with db.writing() as session:
        agent = agents.get_agent(session, "maija")
        agents.set_presence(session, agent, "neuvola", NOW)
        agents.set_presence(session, agent, "neuvola", NOW + timedelta(minutes=5))
        with pytest.raises(Forbidden):
            agents.set_presence(session, agent, "terveysneuvo", NOW)
    with db.reading() as session:
        state = team_state(session, teams.get("neuvola"), NOW)
        assert (state.agents_present, state.capacity, state.accepting) == (1, 3, True)
    with db.writing() as session:
        agent = agents.get_agent(session, "maija")
        assert agents.clear_presence(session, agent, NOW, "neuvola") == 1
        assert agents.clear_presence(session, agent, NOW) == 0
    with db.reading() as session:
        assert not team_state(session, teams.get("neuvola"), NOW).accepting
        actions = session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
    assert actions == ["agent.create", "presence.on", "presence.off"]


def test_closed_team_nobody_present_and_full_queue(db: Database, teams: Teams) -> None:
    with pytest.raises(NobodyPresent):
        join(db, teams, "c0")
    add_agent(db, "maija", ["terveysneuvo", "katilot"])
    with pytest.raises(TeamClosed):
        join(db, teams, "c0", "katilot")  # katilot is closed on Tuesdays
    for index in range(3):  # capacity: one agent × 3 chats
        join(db, teams, f"c{index}")
    with pytest.raises(QueueFull):
        join(db, teams, "c3")
    with db.reading() as session:
        assert session.execute(select(func.count()).select_from(QueueEntry)).scalar_one() == 3


def test_queue_is_fifo_with_positions_and_estimates(db: Database, teams: Teams) -> None:
    add_agent(db, "maija", ["terveysneuvo"])
    add_agent(db, "pekka", ["terveysneuvo"])
    first = join(db, teams, "first")
    second = join(db, teams, "second", now=NOW + timedelta(seconds=1))
    assert (first.position, second.position) == (1, 2)
    assert second.estimated_wait_s == round(DEFAULT_SLOT_S * 2 / 2)
    with db.writing() as session:
        leave_queue(session, "first", NOW)
    with db.reading() as session:
        status = queue_status(session, teams, "second", NOW)
        assert (status.position, status.queue_length, status.estimated_wait_s) == (1, 1, 150)
        assert queue_status(session, teams, "first", NOW).status == "cancelled"
        with pytest.raises(UnknownConversation):
            queue_status(session, teams, "nobody", NOW)
    with pytest.raises(NotQueued), db.writing() as session:
        leave_queue(session, "first", NOW)


def test_duplicate_handoff_and_a_new_one_after_cancelling(db: Database, teams: Teams) -> None:
    add_agent(db, "maija", ["terveysneuvo", "neuvola"])
    join(db, teams, "c1")
    with pytest.raises(AlreadyQueued):
        join(db, teams, "c1", "neuvola")
    with db.writing() as session:
        leave_queue(session, "c1", NOW)
    assert join(db, teams, "c1", "neuvola").position == 1
    with db.reading() as session:
        assert session.get(Conversation, "c1").team_id == "neuvola"


def test_accept_next_and_the_estimate_learns(db: Database, teams: Teams) -> None:
    maija = add_agent(db, "maija", ["terveysneuvo"])
    join(db, teams, "a")
    join(db, teams, "b", now=NOW + timedelta(seconds=10))
    with db.writing() as session:
        agent = agents.get_agent(session, "maija")
        accepted = accept_next(session, "terveysneuvo", agent, NOW + timedelta(seconds=120))
        assert accepted is not None and accepted.id == "a" and accepted.agent_id == maija.id
    with db.reading() as session:
        state = team_state(session, teams.get("terveysneuvo"), NOW + timedelta(seconds=130))
        assert state.slot_s == 120  # waited 120 s at position 1 with one agent
        assert state.active_chats == 1
        assert queue_status(session, teams, "b", NOW).position == 1
        assert queue_status(session, teams, "a", NOW).status == "active"
    add_agent(db, "pekka", ["neuvola"])
    with pytest.raises(Forbidden), db.writing() as session:
        accept_next(session, "terveysneuvo", agents.get_agent(session, "pekka"), NOW)


def test_ewma() -> None:
    assert ewma([]) == DEFAULT_SLOT_S
    assert ewma([100.0]) == 100.0
    assert ewma([100.0, 200.0]) == pytest.approx(130.0)


def test_resident_text_is_masked(db: Database, teams: Teams) -> None:
    add_agent(db, "maija", ["terveysneuvo"])
    transcript = [{"sender": "resident", "text": "hetu 131052-308T"}, {"sender": "bot", "text": "Kiitos"}]
    with db.writing() as session:
        enqueue(session, teams.get("terveysneuvo"), "c1", "Asiakas 131052-308T kysyy", transcript, NOW)
    with db.reading() as session:
        conversation = session.get(Conversation, "c1")
    assert conversation.summary == f"Asiakas {HETU_MASK} kysyy"
    assert conversation.transcript[0]["text"] == f"hetu {HETU_MASK}"


def test_queues_of_closed_teams_are_closed_with_a_message(db: Database, teams: Teams) -> None:
    add_agent(db, "maija", ["terveysneuvo", "tyoikaisten_sosiaalityo"])
    join(db, teams, "health")
    join(db, teams, "social", "tyoikaisten_sosiaalityo")
    assert run_once(db, teams, NOW).closed_conversations == []
    three_pm = NOW.replace(hour=15, minute=0)
    # terveysneuvo closes at 15:00, työikäisten sosiaalityö too; check one minute earlier first.
    assert run_once(db, teams, three_pm - timedelta(minutes=1)).closed_conversations == []
    result = run_once(db, teams, three_pm)
    assert sorted(result.closed_conversations) == ["health", "social"]
    with db.reading() as session:
        conversation = session.get(Conversation, "health")
        assert conversation.status == "closed"
        stored = session.execute(select(Message).where(Message.conversation_id == "health")).scalars().all()
        assert [(m.sender, m.text) for m in stored] == [("system", messages.text("gateway.queue_closed"))]
        states = team_states(session, teams, three_pm)
        assert states["terveysneuvo"].queue_length == 0
    assert "yhteydenottopyynnön" in messages.text("gateway.queue_closed")


def test_contact_requests(db: Database, teams: Teams) -> None:
    team = teams.get("neuvola")
    references = set()
    with db.writing() as session:
        for index in range(30):
            receipt = create_contact_request(
                session,
                team,
                topic="Rokotukset",
                message=f"Lapseni 020516C903K rokotus {index}",
                contact_method="phone",
                contact_value="040 123 4567",
                consent=True,
                conversation_id=None,
                now=NOW,
            )
            references.add(receipt.reference)
    assert len(references) == 30
    assert all(re.fullmatch(r"YP-2026-\d{6}", reference) for reference in references)
    assert receipt.reply_by == date(2026, 3, 12)
    assert receipt.reply_promise == "Otamme sinuun yhteyttä kahden arkipäivän kuluessa."
    with db.reading() as session:
        messages = session.execute(select(ContactRequest.message)).scalars().all()
    assert all(HETU_MASK in message and "903K" not in message for message in messages)


def test_reply_promise_wording() -> None:
    assert reply_promise(1) == "Otamme sinuun yhteyttä yhden arkipäivän kuluessa."
    assert reply_promise(14) == "Otamme sinuun yhteyttä 14 arkipäivän kuluessa."


def test_feedback_is_masked_and_checked(db: Database) -> None:
    with db.writing() as session:
        feedback_id = store_feedback(
            session, rating=5, comment="Kiitos! 131052-308T", conversation_id="c", now=NOW
        )
    with db.reading() as session:
        assert session.get(Feedback, feedback_id).comment == f"Kiitos! {HETU_MASK}"
    with pytest.raises(ValueError), db.writing() as session:
        store_feedback(session, rating=6, comment=None, conversation_id=None, now=NOW)


def test_expired_data_is_purged(db: Database, teams: Teams) -> None:
    add_agent(db, "maija", ["terveysneuvo", "mielenterveys_paihde"])
    join(db, teams, "old")
    join(db, teams, "waiting", "mielenterveys_paihde")
    with db.writing() as session:
        leave_queue(session, "old", NOW)
        create_contact_request(
            session,
            teams.get("terveysneuvo"),
            topic="Resepti",
            message="Uusinta",
            contact_method="email",
            contact_value="a@b.fi",
            consent=True,
            conversation_id=None,
            now=NOW,
        )
    later = NOW + timedelta(days=181)  # terveysneuvo keeps 180 days, mielenterveys_paihde 90
    with db.writing() as session:
        removed = purge_handoff_tables(session, teams, later)
    assert (removed["conversations"], removed["contact_requests"]) == (1, 1)
    with db.reading() as session:
        assert session.get(Conversation, "old") is None
        assert session.get(Conversation, "waiting") is not None  # still queued: kept
        assert session.execute(select(func.count()).select_from(QueueEntry)).scalar_one() == 1
