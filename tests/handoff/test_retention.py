"""The retention purge over every store, with a fake clock, on SQLite and PostgreSQL.

Rasa's own tracker store writes the tracker rows into the same database, as
it does when ``DATABASE_URL`` is shared.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select, text

from handoff import audit, cli
from handoff.db import Database
from handoff.models import AuditEntry, Conversation, Feedback, Message, ResidentSession, SessionMessage
from handoff.retention import Places, purge
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON

NOW = TUESDAY_NOON
# Routed to: mielenterveys_paihde keeps 90 days, neuvola 180; never routed 30 (teams.yml).
HANDED_OFF, ROUTED_BY_BOT, NEVER_ROUTED, STILL_QUEUED = "w-handed-off", "w-routed", "w-unrouted", "w-queued"


async def save_tracker(url: str, sender: str, at: datetime) -> None:
    store = SQLTrackerStore(Domain.empty(), host=url)
    events = [UserUttered("hei", timestamp=at.timestamp()), BotUttered("Hei!", timestamp=at.timestamp() + 1)]
    await store.save(DialogueStateTracker.from_events(sender, events))
    store.engine.dispose()


def tracker_senders(url: str) -> set[str]:
    database = Database(url)
    with database.reading() as session:
        senders = set(session.execute(text("SELECT DISTINCT sender_id FROM events")).scalars())
    database.dispose()
    return senders


def age(path: Path, at: datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


@pytest.fixture
async def stores(db: Database, database_url: str, tmp_path: Path) -> Places:
    """Four conversations in every store, an audit entry and files, all last touched at NOW."""
    with db.writing() as session:
        for conversation_id, team, status in (
            (HANDED_OFF, "mielenterveys_paihde", "ended"),
            (STILL_QUEUED, "terveysneuvo", "queued"),
        ):
            session.add(
                Conversation(
                    id=conversation_id,
                    team_id=team,
                    status=status,
                    transcript=[],
                    created_at=NOW,
                    ended_at=NOW if status == "ended" else None,
                )
            )
            session.add(
                Message(conversation_id=conversation_id, sender="resident", text="hei", created_at=NOW)
            )
        for conversation_id in (HANDED_OFF, ROUTED_BY_BOT, NEVER_ROUTED, STILL_QUEUED):
            session.add(
                ResidentSession(
                    conversation_id=conversation_id,
                    secret_hash=conversation_id.ljust(64, "x"),
                    created_at=NOW,
                    last_seen_at=NOW,
                )
            )
            session.add(Feedback(conversation_id=conversation_id, rating=5, created_at=NOW))
        session.flush()
        route = {"custom": {"route": {"type": "team", "target": "neuvola"}}}
        session.add(
            SessionMessage(
                conversation_id=ROUTED_BY_BOT,
                sender="bot",
                text="Neuvola auttaa.",
                payload=route,
                created_at=NOW,
            )
        )
        audit.record(session, "maija", "conversation.view", HANDED_OFF, NOW)
    for conversation_id in (HANDED_OFF, ROUTED_BY_BOT, NEVER_ROUTED, STILL_QUEUED):
        await save_tracker(database_url, conversation_id, NOW)
    age(tmp_path / "outbox" / "1-a.json", NOW)
    age(tmp_path / "outbox" / "rejected" / "2-b.json", NOW)
    age(tmp_path / "outbox" / "3-c.1700000000000000000.sending", NOW)  # claimed by a courier that died
    age(tmp_path / "log" / "rasa.log.1", NOW)
    age(tmp_path / "log" / "rasa.log", NOW)
    return Places(database_url, tmp_path / "outbox", tmp_path / "log")


def count(db: Database, model: type, conversation_id: str) -> int:
    with db.reading() as session:
        return session.execute(
            select(func.count()).select_from(model).where(model.conversation_id == conversation_id)
        ).scalar_one()


def test_each_store_keeps_each_conversation_for_its_teams_time(
    db: Database, teams: Teams, stores: Places, database_url: str
) -> None:
    everyone = {HANDED_OFF, ROUTED_BY_BOT, NEVER_ROUTED, STILL_QUEUED}
    report = purge(db, teams, stores, NOW + timedelta(days=29))
    assert not any(report.removed.values()) and tracker_senders(database_url) == everyone

    report = purge(db, teams, stores, NOW + timedelta(days=31))
    assert report.removed == {
        "conversations": 0,
        "contact_requests": 0,
        "resident_sessions": 1,
        "feedback": 1,
        "learning_items": 0,
        "room_messages": 0,
        "tracker_conversations": 1,
        "audit_log": 0,
        "outbox_files": 0,
        "log_files": 1,
        "attachment_files": 0,
    }
    assert tracker_senders(database_url) == everyone - {NEVER_ROUTED}
    assert count(db, SessionMessage, NEVER_ROUTED) == 0 and count(db, Feedback, NEVER_ROUTED) == 0
    assert not (stores.log_dir / "rasa.log.1").exists() and (stores.log_dir / "rasa.log").exists()

    report = purge(db, teams, stores, NOW + timedelta(days=91))
    assert report.removed["conversations"] == 1 and report.removed["tracker_conversations"] == 1
    assert count(db, Message, HANDED_OFF) == 0 and count(db, Feedback, HANDED_OFF) == 0
    with db.reading() as session:
        assert session.get(ResidentSession, HANDED_OFF) is None

    report = purge(db, teams, stores, NOW + timedelta(days=181))
    assert report.removed["tracker_conversations"] == 1 and report.removed["outbox_files"] == 3
    assert count(db, SessionMessage, ROUTED_BY_BOT) == 0
    assert tracker_senders(database_url) == {STILL_QUEUED}  # a queued conversation is never touched
    with db.reading() as session:
        assert session.get(Conversation, STILL_QUEUED) is not None
        assert session.get(ResidentSession, STILL_QUEUED) is not None

    report = purge(db, teams, stores, NOW + timedelta(days=731))
    assert report.removed["audit_log"] >= 1  # the view of NOW, kept 730 days
    with db.reading() as session:
        actions = list(session.execute(select(AuditEntry.action, AuditEntry.details)).all())
    assert "conversation.view" not in {action for action, _ in actions}
    purges = [details for action, details in actions if action == "retention.purge"]
    assert purges and all("hei" not in str(details) for details in purges)  # counts, never content


def test_the_command_line_prints_what_it_removed(
    db: Database,
    teams_file: Path,
    stores: Places,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HANDOFF_TEAMS_FILE", str(teams_file))
    monkeypatch.setenv("OPASTIN_OUTBOX_DIR", str(stores.outbox_dir))
    monkeypatch.setattr(cli, "system_clock", lambda: NOW + timedelta(days=200))
    assert cli.main(["purge"]) == 0
    output = capsys.readouterr().out
    assert "tracker_conversations: 3" in output and "outbox_files: 3" in output
    assert tracker_senders(database_url) == {STILL_QUEUED}
