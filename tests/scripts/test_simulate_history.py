"""The simulated history (scripts/simulate_history.py): the report of its period tells its known truth.

A small seeded simulation runs through the service's own functions into a
temporary SQLite database (tests/scripts/conftest.py). The report of
handoff.stats must give the counts the simulation knows exactly, name the
bucket that holds each true percentile, and hide what is under five.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from handoff import retention, stats
from handoff.counting import EMERGENCY_LEVELS, GREETING
from handoff.db import Database
from handoff.gateway.consent import NO_PAYLOAD, YES_PAYLOAD
from handoff.models import (
    ContactRequest,
    Conversation,
    Feedback,
    Message,
    QueueEntry,
    ResidentSession,
    SessionMessage,
)
from opastin.hours import is_open
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.teams import load_teams
from tests.scripts.conftest import CONVERSATIONS, History

TEAMS = load_teams(DEFAULT_TEAMS_FILE)
PERSONAL = (Conversation, Message, QueueEntry, ResidentSession, SessionMessage, Feedback, ContactRequest)


def report(url: str, history: History) -> stats.Report:
    database = Database(url)
    try:
        with database.reading() as session:
            rows = stats.load_rows(session, history.first, history.last)
    finally:
        database.dispose()
    return stats.build_report(rows, history.first, history.last, TEAMS.ids)


def cell(count: int) -> stats.Cell:
    return count if count >= stats.SMALL_CELL else stats.HIDDEN


def holds(bucket: stats.Bucket | None, seconds: float) -> bool:
    """Whether the reported bucket holds the true percentile."""
    return bucket is not None and bucket.from_s <= seconds and (bucket.to_s is None or seconds < bucket.to_s)


def stored(url: str, statement: Any) -> list[Any]:
    database = Database(url)
    try:
        with database.reading() as session:
            return list(session.execute(statement))
    finally:
        database.dispose()


def test_the_report_tells_the_known_truth(history: History) -> None:
    truth, total = history.truth, report(history.url, history).total
    assert total.conversations == truth["conversations"] >= CONVERSATIONS  # + pages used again
    assert (total.handed_off, total.bot_only) == (truth["handed_off"], truth["bot_only"])
    assert total.handover_rate == truth["handover_rate"]

    waits = truth["queue_wait"]
    assert (total.queue_wait.answered, total.queue_wait.abandoned, total.queue_wait.closed) == (
        cell(waits["answered"]),
        cell(waits["abandoned"]),
        cell(waits["closed"]),
    )
    assert holds(total.queue_wait.p50, waits["p50_s"]) and holds(total.queue_wait.p90, waits["p90_s"])
    assert holds(total.queue_wait.abandoned_p50, waits["abandoned_p50_s"])

    chats = truth["chat_duration"]
    assert total.chat_duration.count == chats["count"]
    assert holds(total.chat_duration.p50, chats["p50_s"]) and holds(total.chat_duration.p90, chats["p90_s"])

    rated = truth["feedback"]
    assert (total.feedback.count, total.feedback.mean) == (rated["count"], rated["mean"])
    assert total.feedback.distribution == {r: cell(n) for r, n in rated["distribution"].items()}
    assert total.emergencies == {level: cell(truth["emergencies"][level]) for level in EMERGENCY_LEVELS}
    assert total.contact_requests == truth["contact_requests"]
    assert total.transfers == cell(truth["transfers"])
    assert total.top_routes == {route: cell(n) for route, n in truth["top_routes"].items()}


def test_each_team_has_its_conversations_and_contact_requests(history: History) -> None:
    teams = {figures.team: figures for figures in report(history.url, history).teams}
    truth = {team or stats.NO_TEAM_NAME: counts for team, counts in history.truth["teams"].items()}
    assert set(teams) == set(truth)
    for team, counts in truth.items():
        assert teams[team].conversations == cell(counts["conversations"]), team
        assert teams[team].handed_off == cell(counts["handed_off"]), team
        assert teams[team].contact_requests == cell(counts["contact_requests"]), team


def test_the_traffic_looks_like_the_pilot(history: History) -> None:
    truth = history.truth
    assert 0.12 <= truth["handover_rate"] <= 0.18
    assert truth["feedback"]["share_4_5"] > 0.8 and truth["feedback"]["mean"] > 4
    assert 0 < sum(truth["emergencies"].values()) < 0.03 * truth["conversations"]
    assert truth["conversations"] < truth["visits"]  # a page merely opened is no conversation
    assert min(truth["queue_wait"]["abandoned"], truth["transfers"], truth["contact_requests"]) > 0


def test_residents_join_a_queue_only_while_its_team_is_open(history: History) -> None:
    joins = stored(history.url, select(QueueEntry.team_id, QueueEntry.enqueued_at))
    assert len(joins) >= history.truth["handed_off"]
    assert all(is_open(TEAMS.by_id[team].schedule, moment) for team, moment in joins)


def test_every_text_is_made_up(history: History) -> None:
    """Residents', the bot's and agents' texts say they are simulated (the service's own are its own)."""
    seen = select(SessionMessage.text).where(SessionMessage.sender.in_(("resident", "bot")))
    from_agents = select(Message.text).where(Message.sender == "agent")
    written = {text for (text,) in stored(history.url, seen) + stored(history.url, from_agents)}
    assert all(text.startswith("Simuloitu") for text in written - {GREETING, YES_PAYLOAD, NO_PAYLOAD})
    contacts = stored(history.url, select(ContactRequest.contact_value, ContactRequest.message))
    assert contacts and all(value.endswith("@example.invalid") for value, _ in contacts)
    comments = {comment for (comment,) in stored(history.url, select(Feedback.comment).distinct())}
    assert comments <= {None, "Simuloitu palaute."}


def test_the_counts_outlive_the_purge(history: History, tmp_path: Path) -> None:
    copy = tmp_path / "handoff.db"
    shutil.copy(history.url.removeprefix("sqlite:///"), copy)  # closed: no write-ahead log left
    url = f"sqlite:///{copy}"
    before = stats.as_dict(report(url, history))
    purged_at = datetime.combine(history.last + timedelta(days=400), time(), tzinfo=UTC)
    database = Database(url)
    try:
        places = retention.Places(None, tmp_path / "outbox", tmp_path / "log")
        removed = retention.purge(database, TEAMS, places, purged_at).removed
        with database.reading() as session:
            left = [session.execute(select(func.count()).select_from(m)).scalar_one() for m in PERSONAL]
    finally:
        database.dispose()
    assert removed["resident_sessions"] > 0 and left == [0] * len(PERSONAL)
    assert stats.as_dict(report(url, history)) == before
