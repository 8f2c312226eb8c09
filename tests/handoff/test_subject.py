"""Data subject requests: export and erase one conversation from every store, nobody else's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from handoff import cli
from handoff.contact import create_contact_request
from handoff.db import Database
from handoff.models import (
    AuditEntry,
    ContactRequest,
    Conversation,
    Feedback,
    Message,
    ResidentSession,
    SessionMessage,
)
from handoff.retention import Places
from handoff.subject import UnknownReference, erase, export
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON
from tests.handoff.test_retention import save_tracker, tracker_senders

NOW = TUESDAY_NOON
MINE, OTHER = "w-mine", "w-other"


@pytest.fixture
async def places(db: Database, teams: Teams, database_url: str, tmp_path: Path) -> Places:
    """Two conversations with rows in every store; MINE also left a contact request."""
    with db.writing() as session:
        for conversation_id, reference in ((MINE, "KS-AAAA-2222"), (OTHER, "KS-BBBB-3333")):
            session.add(
                ResidentSession(
                    conversation_id=conversation_id,
                    secret_hash=conversation_id.ljust(64, "0"),
                    created_at=NOW,
                    last_seen_at=NOW,
                    reference=reference,
                )
            )
            session.add(
                Conversation(
                    id=conversation_id,
                    team_id="neuvola",
                    status="ended",
                    transcript=[],
                    created_at=NOW,
                    ended_at=NOW,
                )
            )
            session.add(Feedback(conversation_id=conversation_id, rating=4, comment="ok", created_at=NOW))
        session.flush()
        for conversation_id in (MINE, OTHER):
            session.add(
                SessionMessage(
                    conversation_id=conversation_id,
                    sender="resident",
                    text=f"viesti {conversation_id}",
                    created_at=NOW,
                )
            )
            session.add(
                Message(
                    conversation_id=conversation_id,
                    sender="resident",
                    text=f"viesti {conversation_id}",
                    created_at=NOW,
                )
            )
        create_contact_request(
            session,
            teams.get("neuvola"),
            topic="Rokotus",
            message="Soittakaa",
            contact_method="phone",
            contact_value="0401234567",
            consent=True,
            conversation_id=MINE,
            now=NOW,
        )
    for conversation_id in (MINE, OTHER):
        await save_tracker(database_url, conversation_id, NOW)
    outbox = tmp_path / "outbox"
    (outbox / "rejected").mkdir(parents=True)
    (outbox / "1-x.json").write_text(json.dumps({"conversation_id": MINE, "message": "odottaa"}))
    (outbox / "rejected" / "2-y.json").write_text(json.dumps({"conversation_id": OTHER}))
    sending = outbox / "3-z.1700000000000000000.sending"  # claimed by a courier that died
    sending.write_text(json.dumps({"conversation_id": MINE, "message": "lähdössä"}))
    return Places(database_url, outbox, tmp_path / "log")


def test_export_has_everything_of_the_conversation_and_nothing_else(db: Database, places: Places) -> None:
    data = export(db, places, "ks-aaaa-2222", "kirjaamo", NOW)  # case and spaces do not matter
    assert data["reference"] == "KS-AAAA-2222"
    assert [row["text"] for row in data["session_messages"]] == [f"viesti {MINE}"]
    assert [row["text"] for row in data["messages"]] == [f"viesti {MINE}"]
    assert data["contact_requests"][0]["contact_value"] == "0401234567"
    assert [event["event"]["event"] for event in data["tracker_events"]] == ["user", "bot"]
    assert data["outbox"] == [
        {"conversation_id": MINE, "message": "odottaa"},
        {"conversation_id": MINE, "message": "lähdössä"},
    ]
    assert "secret_hash" not in data["resident_sessions"][0]
    assert OTHER not in json.dumps(data)
    with db.reading() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "subject.export")).scalar_one()
    assert entry.details["reference"] == "KS-AAAA-2222" and "viesti" not in json.dumps(entry.details)


def test_a_contact_request_reference_finds_its_conversation(db: Database, places: Places) -> None:
    with db.reading() as session:
        request_reference = session.execute(select(ContactRequest.reference)).scalar_one()
    data = export(db, places, request_reference, "kirjaamo", NOW)
    assert data["session_messages"][0]["text"] == f"viesti {MINE}"


def test_erase_removes_it_from_every_store_and_keeps_the_fact(
    db: Database, places: Places, database_url: str
) -> None:
    counts = erase(db, places, "KS-AAAA-2222", "kirjaamo", NOW)
    assert counts["tracker_events"] == 2 and counts["outbox_files"] == 2 and counts["contact_requests"] == 1
    assert tracker_senders(database_url) == {OTHER}
    assert (
        not (places.outbox_dir / "1-x.json").exists()
        and (places.outbox_dir / "rejected" / "2-y.json").exists()
    )
    with db.reading() as session:
        for model in (SessionMessage, Message, Feedback):
            remaining = session.execute(select(model.conversation_id)).scalars().all()
            assert remaining == [OTHER], model
        assert session.get(ResidentSession, MINE) is None and session.get(Conversation, MINE) is None
        fact = session.execute(select(AuditEntry).where(AuditEntry.action == "subject.erase")).scalar_one()
    assert fact.actor == "kirjaamo" and fact.details["reference"] == "KS-AAAA-2222"
    with pytest.raises(UnknownReference):
        export(db, places, "KS-AAAA-2222", "kirjaamo", NOW)


def test_the_command_line_exports_to_a_private_file_and_erases_on_confirmation(
    db: Database,
    places: Places,
    database_url: str,
    teams_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HANDOFF_TEAMS_FILE", str(teams_file))
    monkeypatch.setenv("OPASTIN_OUTBOX_DIR", str(places.outbox_dir))
    out = tmp_path / "export.json"
    assert cli.main(["subject", "export", "--reference", "KS-AAAA-2222", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["reference"] == "KS-AAAA-2222" and out.stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr("builtins.input", lambda _prompt: "no")
    assert cli.main(["subject", "erase", "--reference", "KS-AAAA-2222"]) == 1
    assert MINE in tracker_senders(database_url)
    assert cli.main(["subject", "erase", "--reference", "KS-AAAA-2222", "--yes"]) == 0
    assert cli.main(["subject", "export", "--reference", "KS-AAAA-2222"]) == 2
