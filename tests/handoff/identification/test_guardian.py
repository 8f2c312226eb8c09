"""Acting for a child (handoff/identification/guardian.py, register.py): the test register, the signed
choice, the child stored encrypted, the maturity assessment for a child of 12 or older, retention and
data subject requests; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from handoff.db import Database
from handoff.errors import InvalidInput, NotFound
from handoff.identification import guardian
from handoff.identification.identity import IdentificationFailed
from handoff.identification.register import FileRegister, RegisterError, age_on, birth_date
from handoff.identification.routes import load_register
from handoff.models import (
    AuditEntry,
    Conversation,
    ConversationIdentity,
    ConversationSubject,
    ResidentSession,
)
from handoff.retention import Places, purge
from handoff.settings import Settings, SettingsError
from handoff.subject import ENCRYPTED_MARK, erase, export
from opastin.teams import Teams
from tests.handoff.identification.test_service import AINO, MATTI, NOW, VAULT, add_conversation, identify

REGISTER_FILE = Path(__file__).resolve().parents[3] / "idp" / "population_register.yml"
VEETI, ELLA = "050517A952B", "170812A967P"


@pytest.fixture(scope="module")
def register() -> FileRegister:
    return FileRegister(REGISTER_FILE)


def identified_at(db: Database, conversation_id: str = "c1"):  # type: ignore[no-untyped-def]
    with db.reading() as session:
        stored = session.get(ConversationIdentity, conversation_id)
        assert stored is not None
        return stored.identified_at


def token(db: Database, conversation_id: str = "c1", now=NOW) -> str:  # type: ignore[no-untyped-def]
    return guardian.choice_token(VAULT, conversation_id, identified_at(db, conversation_id), now)


def choose(db: Database, register: FileRegister, choice: str, signed: str, now=NOW) -> guardian.Chosen:  # type: ignore[no-untyped-def]
    with db.writing() as session:
        return guardian.choose(session, VAULT, register, signed, choice, now)


def test_the_test_register_gives_ainos_two_children_with_their_ages(register: FileRegister) -> None:
    assert register.test is True
    children = register.children_of(AINO.identity_code)
    assert [child.display_name for child in children] == ["Veeti Testinen", "Ella Testinen"]
    assert "050517" not in repr(children)  # no codes in repr
    assert birth_date(VEETI) == date(2017, 5, 5) and birth_date(ELLA) == date(2012, 8, 17)
    assert [child.age(date(2026, 12, 3)) for child in children] == [9, 14]
    assert register.children_of(MATTI.identity_code) == ()
    assert (
        age_on(date(2014, 12, 3), date(2026, 12, 2)) == 11
        and age_on(date(2014, 12, 3), date(2026, 12, 3)) == 12
    )
    assert birth_date("010199+123A").year == 1899 and birth_date("010199-123A").year == 1999


@pytest.mark.parametrize(
    "content",
    [
        "guardians: [1, 2",  # not YAML
        "guardians:\n  140385-911S:\n    - given_name: Veeti\n",  # no code
        "guardians:\n  140385-911T:\n    - {identity_code: 050517A952B, given_name: V, family_name: T}\n",
    ],
)
def test_a_broken_register_file_is_refused_with_its_name(tmp_path: Path, content: str) -> None:
    path = tmp_path / "register.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RegisterError, match="register.yml"):
        FileRegister(path)


def test_a_guardian_chooses_a_child_under_12_stored_encrypted_and_audited(
    db: Database, register: FileRegister
) -> None:
    add_conversation(db)
    identify(db, AINO)
    with db.reading() as session:
        offered = guardian.options(session, VAULT, register, "c1", NOW)
    assert [(o.index, o.display_name, o.age, o.needs_assessment) for o in offered] == [
        (0, "Veeti Testinen", 8, False),
        (1, "Ella Testinen", 13, True),
    ]
    chosen = choose(db, register, "0", token(db))
    assert chosen.child is not None and chosen.child.display_name == "Veeti Testinen"
    with db.reading() as session:
        subject = guardian.subject_of(session, "c1")
        assert subject == guardian.Subject("Veeti Testinen", 8, None, None)
        assert guardian.subject_code(session, VAULT, "c1") == VEETI
        rows = " ".join(
            str(tuple(row)) for row in session.execute(text("SELECT * FROM conversation_subjects"))
        )
        audits = session.execute(select(AuditEntry.action, AuditEntry.details)).all()
    assert VEETI not in rows and "050517" not in rows
    assert ("identification.acting_for_child", {"age": 8}) in [tuple(a) for a in audits]
    assert "Veeti" not in str(audits)


def test_a_child_of_12_or_older_waits_for_the_professionals_assessment(
    db: Database, register: FileRegister
) -> None:
    add_conversation(db)
    identify(db, AINO)
    choose(db, register, "1", token(db))
    with db.reading() as session:
        assert guardian.subject_of(session, "c1").assessment_pending  # type: ignore[union-attr]
    with db.writing() as session, pytest.raises(InvalidInput):
        guardian.decide_maturity(session, "c1", "maybe", "maija", NOW)
    with db.writing() as session:
        guardian.decide_maturity(session, "c1", "allowed", "maija", NOW)
    with db.reading() as session:
        assert guardian.subject_of(session, "c1") == guardian.Subject("Ella Testinen", 13, "allowed", "maija")
        decided = session.execute(
            select(AuditEntry.actor, AuditEntry.details).where(AuditEntry.action == "identification.maturity")
        ).one()
    assert tuple(decided) == ("maija", {"decision": "allowed"})
    # Back to own matters: the child is removed; an assessment then has nothing to assess.
    choose(db, register, guardian.SELF, token(db))
    with db.reading() as session:
        assert guardian.subject_of(session, "c1") is None
    with db.writing() as session, pytest.raises(NotFound):
        guardian.decide_maturity(session, "c1", "refused", "maija", NOW)


def test_forged_expired_stale_and_out_of_list_choices_are_refused(
    db: Database, register: FileRegister
) -> None:
    add_conversation(db)
    add_conversation(db, "c2")
    identify(db, AINO)
    identify(db, MATTI, "c2")
    signed = token(db)

    def refused(choice: str, value: str, now=NOW) -> str:  # type: ignore[no-untyped-def]
        with pytest.raises(IdentificationFailed) as caught:
            choose(db, register, choice, value, now)
        return caught.value.reason

    body, _, signature = signed.rpartition(".")
    assert refused("0", f"{body}.{signature[:-2]}xx") == "unknown_state"  # forged signature
    assert refused("0", signed.replace("c1.", "c2.", 1)) == "unknown_state"  # another conversation
    assert refused("0", "not-a-token") == "unknown_state"
    assert refused("0", signed, NOW + guardian.CHOICE_TTL + timedelta(seconds=1)) == "expired"
    with pytest.raises(InvalidInput):
        choose(db, register, "2", signed)  # Aino has two children
    with pytest.raises(InvalidInput):
        choose(db, register, "-1", signed)
    with pytest.raises(InvalidInput):
        choose(db, register, "0", token(db, "c2"))  # Matti is nobody's guardian here
    identify(db, AINO, now=NOW + timedelta(minutes=1))  # identified again: the old form is stale
    assert refused("0", signed) == "unknown_state"
    with db.writing() as session:
        session.get(Conversation, "c1").status = "closed"  # type: ignore[union-attr]
    assert refused("0", token(db)) == "conversation_closed"


def test_retention_and_data_subject_requests_take_the_child_too(
    db: Database, register: FileRegister, teams: Teams, tmp_path: Path
) -> None:
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
    choose(db, register, "0", token(db))
    places = Places(None, tmp_path / "outbox", tmp_path / "log")
    data = export(db, places, "KS-AAAA-2222", "kirjaamo", NOW)
    (child,) = data["conversation_subjects"]
    assert child["identity_code"] == ENCRYPTED_MARK and child["given_name"] == "Veeti"
    assert "050517" not in json.dumps(data)
    assert erase(db, places, "KS-AAAA-2222", "kirjaamo", NOW)["conversation_subjects"] == 1

    add_conversation(db, "c3")
    identify(db, AINO, "c3")
    choose(db, register, "1", token(db, "c3"))
    with db.writing() as session:
        conversation = session.get(Conversation, "c3")
        conversation.status, conversation.ended_at = "closed", NOW  # type: ignore[union-attr]
    purge(db, teams, places, NOW + timedelta(days=teams.retention_days("neuvola") + 1))
    with db.reading() as session:
        assert session.execute(select(ConversationSubject)).first() is None


def test_production_refuses_the_test_register_and_a_missing_file(settings: Settings, tmp_path: Path) -> None:
    assert load_register(settings) is None  # unset: nobody is offered the choice
    development = dataclasses.replace(settings, population_register_file=REGISTER_FILE)
    assert load_register(development) is not None
    with pytest.raises(SettingsError, match="test register"):
        load_register(dataclasses.replace(development, production=True))
    with pytest.raises(SettingsError, match="POPULATION_REGISTER_FILE"):
        load_register(dataclasses.replace(development, population_register_file=tmp_path / "missing.yml"))
