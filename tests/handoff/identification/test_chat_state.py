"""What the chat and the desk show of a conversation's identification (service.chat_state), and the
end of every ticket and login when the resident ends the chat (service.end_pending); SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from handoff.db import Database
from handoff.identification import service
from tests.handoff.identification.test_service import (
    AINO,
    MATTI,
    NOW,
    VAULT,
    add_conversation,
    consume,
    identify,
    reason_of,
    start,
    ticket_for,
)


def state_of(db: Database, now=NOW) -> service.ChatIdentification:  # type: ignore[no-untyped-def]
    with db.reading() as session:
        return service.chat_state(session, "c1", now)


def fail(db: Database, reason: str) -> None:
    login = start(db, ticket_for(db))
    pending = consume(db, login.state, login.browser_secret)
    with db.writing() as session:
        service.record_failure(session, pending, reason, NOW)  # type: ignore[arg-type]


def test_the_states_from_asking_to_identified(db: Database) -> None:
    add_conversation(db)
    assert state_of(db) == service.ChatIdentification("none")
    ticket = ticket_for(db)
    assert state_of(db).state == "requested"
    assert state_of(db, NOW + service.TICKET_TTL + timedelta(seconds=1)).state == "none"  # expired unused
    login = start(db, ticket)
    assert state_of(db).state == "requested"
    pending = consume(db, login.state, login.browser_secret)
    assert state_of(db).state == "requested"  # the provider's answer is being checked
    with db.writing() as session:
        service.bind_identity(session, VAULT, pending, AINO, NOW)
    shown = state_of(db)
    assert shown.state == "identified" and shown.display_name == "Aino Testinen" and shown.identified
    assert "140385" not in repr(shown)


def test_cancelled_and_failed_say_so_until_identified_and_an_identity_stays(db: Database) -> None:
    add_conversation(db)
    fail(db, "cancelled")
    assert state_of(db) == service.ChatIdentification("cancelled")
    fail(db, "wrong_nonce")
    assert state_of(db).state == "failed"
    identify(db, MATTI)
    fail(db, "cancelled")  # a later attempt fails: the identity stays
    assert state_of(db).state == "identified" and state_of(db).display_name == "Matti Kokeilu"
    identify(db, AINO)
    shown = state_of(db)
    assert shown.state == "different_person" and shown.display_name == "Matti Kokeilu"


def test_ending_the_chat_ends_unused_tickets_and_logins_under_way(db: Database) -> None:
    add_conversation(db)
    add_conversation(db, "c2")
    unused = ticket_for(db)
    login = start(db, ticket_for(db))
    other = ticket_for(db, "c2")
    with db.writing() as session:
        assert service.end_pending(session, "c1", NOW) == 2
    assert state_of(db).state == "ended"
    assert reason_of(lambda: start(db, unused)) == "expired"
    assert reason_of(lambda: consume(db, login.state, login.browser_secret)) == "expired"
    assert start(db, other).conversation_id == "c2"  # another conversation's ticket still works
    with db.writing() as session:
        assert service.end_pending(session, "c1", NOW) == 0  # nothing left; nothing audited twice
    with db.reading() as session:
        assert service.has_attempts(session, "c1") and not service.is_identified(session, "c1")
