"""Tickets, logins bound to the server-side conversation, the stored identity (encrypted), retention and
data subject requests; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from handoff.db import Database
from handoff.errors import Conflict, UnknownConversation
from handoff.identification import service
from handoff.identification.identity import IdentificationFailed, Identity
from handoff.identification.vault import IdentityVault, VaultError, load_vault
from handoff.models import (
    AuditEntry,
    Conversation,
    ConversationIdentity,
    IdentificationAttempt,
    ResidentSession,
)
from handoff.retention import Places, purge
from handoff.settings import Settings
from handoff.subject import ENCRYPTED_MARK, erase, export
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON

NOW = TUESDAY_NOON
AINO = Identity("140385-911S", "Aino", "Testinen", "https://tunnistus.example.fi")
MATTI = Identity("021178-9265", "Matti", "Kokeilu", "https://tunnistus.example.fi")
VAULT = IdentityVault("k" * 40)


def add_conversation(db: Database, conversation_id: str = "c1", status: str = "active") -> None:
    with db.writing() as session:
        session.add(
            Conversation(
                id=conversation_id,
                team_id="neuvola",
                status=status,
                transcript=[],
                created_at=NOW,
                summary="",
            )
        )


def ticket_for(db: Database, conversation_id: str = "c1", now=NOW) -> str:
    with db.writing() as session:
        return service.issue_ticket(session, conversation_id, now, actor="maija")


def start(db: Database, ticket: str, now=NOW) -> service.LoginStart:
    with db.writing() as session:
        return service.start_login(session, ticket, now)


def consume(db: Database, state: str | None, secret: str | None, now=NOW) -> service.PendingLogin:
    with db.writing() as session:
        return service.consume_login(session, state, secret, now)


def reason_of(action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(IdentificationFailed) as caught:
        action()
    return caught.value.reason


def identify(db: Database, identity: Identity, conversation_id: str = "c1", now=NOW) -> str:
    login = start(db, ticket_for(db, conversation_id, now), now)
    pending = consume(db, login.state, login.browser_secret, now)
    with db.writing() as session:
        return service.bind_identity(session, VAULT, pending, identity, now)


def test_a_ticket_starts_one_login_for_its_conversation_only(db: Database) -> None:
    add_conversation(db)
    ticket = ticket_for(db)
    assert len(ticket) >= 43  # 256 random bits
    login = start(db, ticket)
    assert login.conversation_id == "c1"
    assert len({login.state, login.nonce, login.code_verifier, login.browser_secret}) == 4
    assert reason_of(lambda: start(db, ticket)) == "ticket_used"
    assert reason_of(lambda: start(db, "forged-" + ticket[7:])) == "unknown_ticket"
    with db.reading() as session:
        stored = session.execute(select(IdentificationAttempt)).scalar_one()
    assert ticket not in (stored.ticket_hash, stored.state_hash) and login.state != stored.state_hash
    assert stored.nonce == login.nonce and stored.code_verifier == login.code_verifier


def test_tickets_only_for_open_conversations_and_they_expire(db: Database) -> None:
    with pytest.raises(UnknownConversation), db.writing() as session:
        service.issue_ticket(session, "nobody", NOW)
    add_conversation(db, "ended", status="ended")
    with pytest.raises(Conflict), db.writing() as session:
        service.issue_ticket(session, "ended", NOW)
    add_conversation(db)
    old = ticket_for(db)
    assert reason_of(lambda: start(db, old, NOW + service.TICKET_TTL)) == "expired"
    closing = ticket_for(db)
    with db.writing() as session:
        session.get(Conversation, "c1").status = "ended"
    assert reason_of(lambda: start(db, closing)) == "conversation_closed"


def test_the_callback_consumes_the_login_once(db: Database) -> None:
    add_conversation(db)
    login = start(db, ticket_for(db))
    pending = consume(db, login.state, login.browser_secret)
    assert (pending.conversation_id, pending.nonce, pending.code_verifier) == (
        "c1",
        login.nonce,
        login.code_verifier,
    )
    assert reason_of(lambda: consume(db, login.state, login.browser_secret)) == "replay"
    with db.reading() as session:
        stored = session.execute(select(IdentificationAttempt)).scalar_one()
    assert stored.nonce is None and stored.code_verifier is None  # nothing left to replay with


def test_forged_unknown_or_missing_state_is_refused(db: Database) -> None:
    add_conversation(db)
    login = start(db, ticket_for(db))
    assert reason_of(lambda: consume(db, None, login.browser_secret)) == "unknown_state"
    assert reason_of(lambda: consume(db, "", login.browser_secret)) == "unknown_state"
    assert reason_of(lambda: consume(db, login.state + "x", login.browser_secret)) == "unknown_state"
    assert reason_of(lambda: consume(db, login.nonce, login.browser_secret)) == "unknown_state"
    assert consume(db, login.state, login.browser_secret).conversation_id == "c1"  # still usable


def test_a_callback_in_another_browser_or_too_late_is_refused(db: Database) -> None:
    add_conversation(db)
    login = start(db, ticket_for(db))
    assert reason_of(lambda: consume(db, login.state, None)) == "other_browser"
    assert reason_of(lambda: consume(db, login.state, "a-guessed-secret")) == "other_browser"
    # A stranger's tries do not spend the resident's login.
    assert consume(db, login.state, login.browser_secret).conversation_id == "c1"
    late = start(db, ticket_for(db))
    assert (
        reason_of(lambda: consume(db, late.state, late.browser_secret, NOW + service.LOGIN_TTL)) == "expired"
    )


def test_the_identity_code_is_stored_encrypted_and_bound_to_its_conversation(db: Database) -> None:
    add_conversation(db)
    assert identify(db, AINO) == "identified"
    with db.reading() as session:
        raw = session.execute(text("SELECT * FROM conversation_identities")).mappings().one()
        stored = service.identity_of(session, VAULT, "c1")
        assert service.is_identified(session, "c1") and not service.is_identified(session, "c2")
    assert "140385" not in json.dumps({key: str(value) for key, value in raw.items()})
    assert raw["identity_code"].startswith("v1.") and (raw["given_name"], raw["family_name"]) == (
        "Aino",
        "Testinen",
    )
    assert (
        stored is not None
        and stored.identity_code == "140385-911S"
        and stored.display_name == "Aino Testinen"
    )
    assert "140385" not in repr(stored)
    with pytest.raises(VaultError):  # copied to another conversation's row, it does not decrypt
        VAULT.decrypt(raw["identity_code"], "c2")
    with pytest.raises(VaultError):
        IdentityVault("another key that is long enough....").decrypt(raw["identity_code"], "c1")


def test_a_second_identification_must_be_the_same_person(db: Database) -> None:
    add_conversation(db)
    assert identify(db, AINO) == "identified"
    assert identify(db, AINO) == "same_person"
    assert identify(db, MATTI) == "different_person"
    with db.reading() as session:
        stored = service.identity_of(session, VAULT, "c1")
        actions = session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
        details = session.execute(select(AuditEntry.details)).scalars().all()
    assert stored is not None and stored.identity_code == AINO.identity_code  # the first one stays
    assert "identification.different_person" in actions and "identification.identified" in actions
    assert "140385" not in json.dumps(details) and "Aino" not in json.dumps(details)


def test_a_conversation_that_ended_during_the_login_is_not_identified(db: Database) -> None:
    add_conversation(db)
    login = start(db, ticket_for(db))
    pending = consume(db, login.state, login.browser_secret)
    with db.writing() as session:
        session.get(Conversation, "c1").status = "ended"
    with pytest.raises(IdentificationFailed) as caught, db.writing() as session:
        service.bind_identity(session, VAULT, pending, AINO, NOW)
    assert caught.value.reason == "conversation_closed"
    with db.reading() as session:
        assert session.get(ConversationIdentity, "c1") is None


def test_the_development_key_is_generated_once_and_production_refuses_it(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, database_url="sqlite://", teams_file=tmp_path / "teams.yml")
    first = load_vault(settings).encrypt("140385-911S", "c1")
    assert (tmp_path / "identity-key").stat().st_mode & 0o777 == 0o600
    assert load_vault(settings).decrypt(first, "c1") == "140385-911S"
    configured = Settings(
        var_dir=tmp_path, database_url="sqlite://", teams_file=tmp_path / "t.yml", identity_key="s" * 40
    )
    with pytest.raises(VaultError):
        load_vault(configured).decrypt(first, "c1")


def test_retention_purges_the_identity_with_the_conversation(
    db: Database, teams: Teams, tmp_path: Path
) -> None:
    add_conversation(db)
    identify(db, AINO)
    with db.writing() as session:
        conversation = session.get(Conversation, "c1")
        conversation.status, conversation.ended_at = "ended", NOW
    places = Places(None, tmp_path / "outbox", tmp_path / "log")
    purge(db, teams, places, NOW + timedelta(days=1))
    with db.reading() as session:
        assert session.get(ConversationIdentity, "c1") is not None  # not yet
    purge(db, teams, places, NOW + timedelta(days=teams.retention_days("neuvola") + 1))
    with db.reading() as session:
        assert session.get(ConversationIdentity, "c1") is None
        assert session.execute(select(IdentificationAttempt)).first() is None


def test_data_subject_export_marks_the_code_and_erase_removes_it(db: Database, tmp_path: Path) -> None:
    add_conversation(db)
    with db.writing() as session:
        session.add(
            ResidentSession(
                conversation_id="c1",
                secret_hash="0" * 64,
                created_at=NOW,
                last_seen_at=NOW,
                reference="KS-AAAA-2222",
            )
        )
    identify(db, AINO)
    places = Places(None, tmp_path / "outbox", tmp_path / "log")
    data = export(db, places, "KS-AAAA-2222", "kirjaamo", NOW)
    (identity,) = data["conversation_identities"]
    assert identity["identity_code"] == ENCRYPTED_MARK and identity["given_name"] == "Aino"
    assert "v1." not in json.dumps(data) and "140385" not in json.dumps(data)
    assert all("state_hash" not in row and "nonce" not in row for row in data["identification_attempts"])
    counts = erase(db, places, "KS-AAAA-2222", "kirjaamo", NOW)
    assert counts["conversation_identities"] == 1
    with db.reading() as session:
        assert session.get(ConversationIdentity, "c1") is None
        assert session.execute(select(IdentificationAttempt)).first() is None
