"""Live chats' storage (handoff/live.py): the relay's one-query check that an agent holds a chat, and
storing a message, compared with the checks and rows of the ORM path they replace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handoff import agents, live
from handoff.db import Database
from handoff.errors import Forbidden, HandoffError, NotActive
from handoff.gateway import relay, sessions
from handoff.models import Message, SessionMessage
from handoff.queue import enqueue
from opastin.teams import Teams
from tests.handoff.conftest import FakeClock, add_agent

RESUME = timedelta(minutes=30)


def waiting(db: Database, teams: Teams, clock: FakeClock, team: str = "neuvola") -> str:
    """A resident's conversation waiting in ``team``'s queue."""
    with db.writing() as session:
        conversation_id = sessions.open_session(session, None, clock(), RESUME).conversation_id
        enqueue(session, teams.get(team), conversation_id, "Kysyy rokotuksista.", [], clock())
    return conversation_id


def accepted(db: Database, teams: Teams, clock: FakeClock, username: str, team: str = "neuvola") -> str:
    """A conversation ``username`` has accepted from ``team``'s queue."""
    conversation_id = waiting(db, teams, clock, team)
    with db.writing() as session:
        agent = agents.get_agent(session, username)
        live.accept(session, teams, agent, team, conversation_id, clock())
    return conversation_id


def outcome(db: Database, agent_id: int, conversation_id: str) -> tuple[type[HandoffError] | None, str]:
    """What ``held_chat`` says, and what the ORM path (load the agent, ``held_by``) says."""
    results = []
    for check in (
        lambda session: live.held_chat(session, agent_id, conversation_id),
        lambda session: live.held_by(session, relay.load_agent(session, agent_id), conversation_id),
    ):
        with db.reading() as session:
            try:
                check(session)
                results.append((None, ""))
            except HandoffError as error:
                results.append((type(error), error.message))
    assert results[0] == results[1]
    return results[0]


def test_the_agent_holding_a_live_chat_may_write_in_it(db: Database, teams: Teams, clock: FakeClock) -> None:
    maija = add_agent(db, "maija", ["neuvola"])
    conversation_id = accepted(db, teams, clock, "maija")
    with db.reading() as session:
        chat = live.held_chat(session, maija.id, conversation_id)
    assert chat == live.HeldChat(conversation_id, "neuvola", maija.id, "maija", consulted=False)
    assert outcome(db, maija.id, conversation_id) == (None, "")


def test_everyone_else_is_refused_as_the_orm_path_refuses_them(
    db: Database, teams: Teams, clock: FakeClock
) -> None:
    maija = add_agent(db, "maija", ["neuvola"])
    pekka = add_agent(db, "pekka", ["neuvola"])
    outsider = add_agent(db, "olli", ["terveysneuvo"])
    held = accepted(db, teams, clock, "maija")
    queued = waiting(db, teams, clock)

    assert outcome(db, pekka.id, held) == (Forbidden, f"conversation {held!r} is held by another agent")
    assert outcome(db, outsider.id, held)[0] is Forbidden  # another team's chat
    assert outcome(db, maija.id, "w-unknown")[0] is Forbidden  # unknown ids look the same
    assert outcome(db, maija.id, queued) == (NotActive, f"conversation {queued!r} is queued")
    assert outcome(db, 999_999, held) == (Forbidden, "the agent account is not active")
    with db.writing() as session:
        agents.set_active(session, "maija", False, clock(), "admin")
    assert outcome(db, maija.id, held) == (Forbidden, "the agent account is not active")


def test_a_message_is_stored_masked_and_in_the_order_of_storing(
    db: Database, teams: Teams, clock: FakeClock
) -> None:
    maija = add_agent(db, "maija", ["neuvola"])
    conversation_id = accepted(db, teams, clock, "maija")
    with db.writing() as session:
        first = live.add_message(session, conversation_id, live.AGENT, "hetu 131052-308T", clock(), "maija")
        second = relay.agent_says(session, maija.id, conversation_id, "toinen", clock())
        turn = sessions.take_resident_message(session, conversation_id, "kolmas", clock(), None)
    assert first.text == "hetu ******-****" and first.author == "maija" and first.created_at == clock()
    assert first.id < second.desk["id"] < (turn.message_id or 0)
    assert second.desk == {
        "conversation_id": conversation_id,
        "id": second.desk["id"],
        "sender": "agent",
        "text": "toinen",
        "author": "maija",
        "created_at": clock().isoformat(),
    }
    assert second.uttered == {"text": "toinen", "custom": {"sender": "agent", "sender_name": "maija"}}
    with db.reading() as session:
        stored = session.execute(
            select(Message.sender, Message.text, Message.author, Message.created_at)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id)
        ).all()
        seen = session.execute(
            select(SessionMessage.sender, SessionMessage.text, SessionMessage.payload)
            .where(SessionMessage.conversation_id == conversation_id)
            .order_by(SessionMessage.id)
        ).all()
    assert [tuple(row) for row in stored[-3:]] == [
        ("agent", "hetu ******-****", "maija", clock()),
        ("agent", "toinen", "maija", clock()),
        ("resident", "kolmas", None, clock()),
    ]
    # What the resident saw: the agent's message and their own (add_message is the desk's side only).
    assert [tuple(row) for row in seen] == [
        ("agent", "toinen", {"custom": {"sender": "agent", "sender_name": "maija"}}),
        ("resident", "kolmas", None),
    ]


def test_a_message_follows_the_changes_pending_in_its_session(
    db: Database, teams: Teams, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["neuvola"])
    conversation_id = waiting(db, teams, clock)
    with db.writing() as session:
        agent = agents.get_agent(session, "maija")
        conversation = live.accept(session, teams, agent, "neuvola", conversation_id, clock())
        assert conversation is not None
        # The accept is still pending in the session: the message is stored after it.
        joined = relay.post(session, conversation, live.SYSTEM, "Maija liittyi.", clock())
        assert sessions.live_state(session, conversation_id) == sessions.LiveState(
            "active", "neuvola", agent.id, None
        )
    assert joined.agent_id == agent.id


@pytest.mark.parametrize("sender", ["resident", "system"])
def test_a_conversation_without_a_resident_session_keeps_no_session_messages(
    db: Database, teams: Teams, clock: FakeClock, sender: str
) -> None:
    add_agent(db, "maija", ["neuvola"])
    with db.writing() as session:
        enqueue(session, teams.get("neuvola"), "rest-1", "Kysyy.", [], clock())  # not from the gateway
        if sender == "resident":
            turn = sessions.take_resident_message(session, "rest-1", "hei", clock(), None)
            assert turn.live is not None and turn.message_id is not None
        else:
            sessions.record_uttered(session, "rest-1", {"text": "hei"}, clock())
    with db.reading() as session:
        assert session.execute(select(SessionMessage.id)).first() is None
