"""Counting for the statistics, driven through the service's own functions with a controlled clock.

Known truth: a handful of residents with chosen waits, chat lengths, routes and
ratings, then the report must say exactly that (to the bucket), count each
thing once, and keep the counts when the conversations are purged.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from handoff import agents, counting, live, maintenance, stats
from handoff.contact import create_contact_request
from handoff.db import Database
from handoff.feedback import store_feedback
from handoff.gateway import sessions
from handoff.models import (
    ContactRequest,
    Conversation,
    DailyCount,
    Feedback,
    Message,
    QueueEntry,
    ResidentSession,
    SessionMessage,
)
from handoff.queue import enqueue, leave_queue
from handoff.retention import Places, purge
from handoff.stats import HIDDEN, Bucket
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON, FakeClock, add_agent

DAY = date(2026, 3, 10)
RESUME = timedelta(minutes=30)
HEALTH = "terveysneuvo"
HEALTH_ROUTE = {"type": "team", "target": HEALTH}
OMAOLO_ROUTE = {"type": "omaolo", "target": "https://www.omaolo.fi/"}
URGENT_ROUTE = {"type": "emergency", "target": "116117"}
WAITS_S = (10, 45, 90, 200, 400, 700)  # buckets 0, 30, 60, 180, 300, 600
CHATS_S = (100, 250, 400, 650, 1000, 2000)  # buckets 60, 180, 300, 600, 900, 1800
RATINGS = (5, 4, 4, 3, 5, 2)  # mean 23 / 6


def write(db: Database, operation: Any, *args: Any) -> Any:
    with db.writing() as session:
        return operation(session, *args)


def say(db: Database, clock: FakeClock, conversation_id: str, text: str, route: dict | None) -> None:
    """The resident writes; the bot answers (with a route payload if given), as the gateway stores it."""
    clock.advance(seconds=5)
    with db.writing() as session:
        sessions.take_resident_message(session, conversation_id, text, clock(), None)
        reply: dict[str, Any] = {"text": "Botti vastaa."}
        if route is not None:
            reply["custom"] = {"route": route}
        sessions.record_uttered(session, conversation_id, reply, clock())


def visit(db: Database, clock: FakeClock, *turns: tuple[str, dict | None]) -> str:
    """A resident opens the page, which greets the bot by itself, then writes each turn."""
    conversation_id = write(db, sessions.open_session, None, clock(), RESUME).conversation_id
    say(db, clock, conversation_id, counting.GREETING, None)
    for text, route in turns:
        say(db, clock, conversation_id, text, route)
    return conversation_id


def hand_off(db: Database, teams: Teams, clock: FakeClock, conversation_id: str, team: str = HEALTH) -> None:
    with db.writing() as session:
        enqueue(session, teams.get(team), conversation_id, "Reseptin uusiminen", [], clock())


def as_agent(db: Database, username: str, operation: Any, *args: Any) -> Any:
    with db.writing() as session:
        return operation(session, agents.get_agent(session, username), *args)


def chat(
    db: Database, teams: Teams, clock: FakeClock, conversation_id: str, wait_s: int, chat_s: int
) -> None:
    """Handed to terveysneuvo, accepted after ``wait_s``, ended by the agent after ``chat_s``."""
    hand_off(db, teams, clock, conversation_id)
    clock.advance(seconds=wait_s)
    with db.writing() as session:
        live.accept(session, teams, agents.get_agent(session, "maija"), HEALTH, conversation_id, clock())
    clock.advance(seconds=chat_s)
    as_agent(db, "maija", live.end, conversation_id, clock())


def rate(db: Database, clock: FakeClock, conversation_id: str, rating: int) -> None:
    with db.writing() as session:
        store_feedback(
            session, rating=rating, comment="Kiitos Maija!", conversation_id=conversation_id, now=clock()
        )


def counts(db: Database) -> dict[tuple[str, str, str], int]:
    """Every daily count of DAY as ``(team, measure, label) -> count``."""
    with db.reading() as session:
        rows = session.execute(select(DailyCount).where(DailyCount.day == DAY)).scalars()
        return {(row.team_id, row.metric, row.label): row.value for row in rows}


def report(db: Database, teams: Teams) -> stats.Report:
    with db.reading() as session:
        rows = stats.load_rows(session, DAY, DAY)
    return stats.build_report(rows, DAY, DAY, teams.ids)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TUESDAY_NOON)


@pytest.fixture
def known(db: Database, teams: Teams, clock: FakeClock) -> list[str]:
    """Seventeen visits on Tuesday 10 March 2026; returns the conversation ids.

    terveysneuvo: six chats (WAITS_S, CHATS_S, RATINGS; ended by the resident),
    one resident who left the queue after 150 s, five routed there by the bot
    only (one leaves a contact request); no team: four routed to Omaolo (one
    of them also to 116 117); and one page that only greeted.
    """
    add_agent(db, "maija", [HEALTH])
    ids = []
    for wait_s, chat_s, rating in zip(WAITS_S, CHATS_S, RATINGS, strict=True):
        conversation_id = visit(db, clock, ("reseptin uusiminen", HEALTH_ROUTE), ("kyllä", None))
        chat(db, teams, clock, conversation_id, wait_s, chat_s)
        rate(db, clock, conversation_id, rating)
        write(db, sessions.end_session, conversation_id, clock())
        ids.append(conversation_id)
    gave_up = visit(db, clock, ("labratulokset", HEALTH_ROUTE))
    hand_off(db, teams, clock, gave_up)
    clock.advance(seconds=150)
    write(db, leave_queue, gave_up, clock())
    ids.append(gave_up)
    for _ in range(5):
        ids.append(visit(db, clock, ("ajanvaraus", HEALTH_ROUTE)))
    with db.writing() as session:
        create_contact_request(
            session,
            teams.get(HEALTH),
            topic="Ajanvaraus",
            message="Soittakaa minulle",
            contact_method="phone",
            contact_value="040 123 4567",
            consent=True,
            conversation_id=ids[-1],
            now=clock(),
        )
    ids.append(visit(db, clock, ("yskä ja kuumetta", OMAOLO_ROUTE), ("hengenahdistus", URGENT_ROUTE)))
    for _ in range(3):
        ids.append(visit(db, clock, ("kurkku kipeä", OMAOLO_ROUTE)))
    ids.append(visit(db, clock))
    clock.advance(minutes=31)
    maintenance.run_once(db, teams, clock(), resume_within=RESUME)
    return ids


def test_the_report_tells_the_known_truth(db: Database, teams: Teams, known: list[str]) -> None:
    result = report(db, teams)
    assert [team.team for team in result.teams] == [HEALTH, stats.NO_TEAM_NAME]
    health, no_team = result.teams
    assert (health.conversations, health.handed_off, health.bot_only) == (12, 7, 5)
    assert (health.handover_rate, health.bot_only_share) == (0.583, 0.417)
    assert health.top_routes == {"team:terveysneuvo": 12}
    assert health.queue_wait == stats.Waits(
        answered=6,
        p50=Bucket(60, 120),
        p90=Bucket(600, 900),
        abandoned=HIDDEN,
        abandoned_p50=None,
        closed=HIDDEN,
    )
    assert health.chat_duration == stats.Chats(6, Bucket(300, 600), Bucket(1800, 2700))
    assert health.feedback == stats.Ratings(6, 3.83, dict.fromkeys(("1", "2", "3", "4", "5"), HIDDEN))
    assert (health.contact_requests, health.transfers) == (HIDDEN, HIDDEN)
    assert no_team.conversations == HIDDEN
    assert no_team.top_routes == {"omaolo:https://www.omaolo.fi/": HIDDEN, "emergency:116117": HIDDEN}

    total = result.total
    assert (total.conversations, total.handed_off, total.bot_only) == (16, 7, 9)
    assert (total.handover_rate, total.bot_only_share) == (0.438, 0.562)
    assert total.emergencies == dict.fromkeys(counting.EMERGENCY_LEVELS, HIDDEN)

    exact = counts(db)  # what the hidden cells hide
    assert exact[("", "emergency", "116117")] == 1 and exact[("", "conversations", "")] == 4
    assert exact[(HEALTH, "wait_cancelled", "120")] == 1 and exact[(HEALTH, "contact_request", "")] == 1
    assert {label: n for (_, metric, label), n in exact.items() if metric == "feedback"} == {
        "5": 2,
        "4": 2,
        "3": 1,
        "2": 1,
    }


def test_counts_hold_no_ids_text_or_identity(db: Database, teams: Teams, known: list[str]) -> None:
    with db.reading() as session:
        rows = session.execute(select(DailyCount)).scalars().all()
    values = {row.team_id for row in rows} | {row.label for row in rows}
    written = ("resepti", "Kiitos", "Maija", "040", "Soittakaa", "w-")
    assert not any(text in value for value in values for text in written)
    assert not any(conversation_id in value for value in values for conversation_id in known)


def test_each_conversation_is_counted_once(
    db: Database, teams: Teams, known: list[str], clock: FakeClock
) -> None:
    before = counts(db)
    for conversation_id in known:
        write(db, sessions.end_session, conversation_id, clock())  # ended again, or after it was counted
    clock.advance(hours=2)
    maintenance.run_once(db, teams, clock(), resume_within=RESUME)
    with db.writing() as session:
        for row in session.execute(select(ResidentSession)).scalars():
            counting.count_session(session, row, clock())
    assert counts(db) == before


def test_counts_outlive_the_retention_purge(
    db: Database, teams: Teams, known: list[str], clock: FakeClock, tmp_path: Path
) -> None:
    visit(db, clock, ("hammas särkee", {"type": "team", "target": "suun_terveydenhuolto"}))  # never counted
    before = counts(db)
    purged_at = clock.advance(days=200)
    places = Places(None, tmp_path / "outbox", tmp_path / "log")
    removed = purge(db, teams, places, purged_at).removed
    assert removed["conversations"] == 7 and removed["resident_sessions"] == len(known) + 1

    personal = (Conversation, Message, QueueEntry, ResidentSession, SessionMessage, Feedback, ContactRequest)
    with db.reading() as session:
        for model in personal:
            assert session.execute(select(func.count()).select_from(model)).scalar_one() == 0
    after = counts(db)
    assert after.pop(("suun_terveydenhuolto", "conversations", "")) == 1  # counted before it was purged
    assert after.pop(("suun_terveydenhuolto", "route", "team:suun_terveydenhuolto")) == 1
    assert after == before
    purge(db, teams, places, purged_at + timedelta(days=1))
    assert report(db, teams).total.conversations == 17


def test_a_page_left_open_counts_its_later_activity_as_a_conversation_of_its_own(
    db: Database, teams: Teams, clock: FakeClock
) -> None:
    conversation_id = visit(db, clock, ("yskä", OMAOLO_ROUTE))
    clock.advance(minutes=31)
    maintenance.run_once(db, teams, clock(), resume_within=RESUME)
    assert counts(db) == {("", "conversations", ""): 1, ("", "route", "omaolo:https://www.omaolo.fi/"): 1}

    clock.advance(minutes=40)  # the resident comes back to the open page and writes again
    say(db, clock, conversation_id, "entä neuvola", {"type": "team", "target": "neuvola"})
    say(db, clock, conversation_id, "entä omaolo", OMAOLO_ROUTE)
    write(db, sessions.end_session, conversation_id, clock())
    assert counts(db) == {
        ("", "conversations", ""): 1,
        ("", "route", "omaolo:https://www.omaolo.fi/"): 1,
        ("neuvola", "conversations", ""): 1,
        ("neuvola", "route", "team:neuvola"): 1,
        ("neuvola", "route", "omaolo:https://www.omaolo.fi/"): 1,
    }


def test_queued_and_live_conversations_are_not_over(db: Database, teams: Teams, clock: FakeClock) -> None:
    add_agent(db, "maija", [HEALTH])
    conversation_id = visit(db, clock, ("resepti", HEALTH_ROUTE))
    hand_off(db, teams, clock, conversation_id)
    clock.advance(minutes=45)
    maintenance.run_once(db, teams, clock(), resume_within=RESUME)
    assert counts(db) == {}
    with db.writing() as session:
        live.accept(session, teams, agents.get_agent(session, "maija"), HEALTH, conversation_id, clock())
    clock.advance(minutes=45)
    maintenance.run_once(db, teams, clock(), resume_within=RESUME)
    assert counts(db) == {(HEALTH, "wait_accepted", "2700"): 1}
    as_agent(db, "maija", live.end, conversation_id, clock())
    clock.advance(minutes=31)
    maintenance.run_once(db, teams, clock(), resume_within=RESUME)
    assert counts(db)[(HEALTH, "handed_off", "")] == 1


def test_a_transfer_counts_both_chats_and_the_move(db: Database, teams: Teams, clock: FakeClock) -> None:
    add_agent(db, "maija", [HEALTH])
    add_agent(db, "pekka", ["perhekeskus"])
    conversation_id = visit(db, clock, ("resepti", HEALTH_ROUTE))
    hand_off(db, teams, clock, conversation_id)
    with db.writing() as session:
        live.accept(session, teams, agents.get_agent(session, "maija"), HEALTH, conversation_id, clock())
    clock.advance(minutes=4)
    with db.writing() as session:
        maija = agents.get_agent(session, "maija")
        live.propose_transfer(session, teams, maija, conversation_id, "perhekeskus", clock())
    write(db, live.answer_transfer, teams, conversation_id, True, clock())
    clock.advance(seconds=20)
    with db.writing() as session:
        pekka = agents.get_agent(session, "pekka")
        live.accept(session, teams, pekka, "perhekeskus", conversation_id, clock())
    clock.advance(minutes=10)
    as_agent(db, "pekka", live.end, conversation_id, clock())
    write(db, sessions.end_session, conversation_id, clock())
    assert counts(db) == {
        (HEALTH, "wait_accepted", "0"): 1,
        (HEALTH, "chat_duration", "180"): 1,
        (HEALTH, "transfer", "perhekeskus"): 1,
        ("perhekeskus", "wait_accepted", "0"): 1,
        ("perhekeskus", "chat_duration", "600"): 1,
        ("perhekeskus", "conversations", ""): 1,  # the team that served it last
        ("perhekeskus", "handed_off", ""): 1,
        ("perhekeskus", "route", "team:terveysneuvo"): 1,
    }


def test_a_wait_cut_by_the_closing_time_is_counted_as_closed(
    db: Database, teams: Teams, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["neuvola"])
    clock.now = datetime.fromisoformat("2026-03-10T13:50:00+02:00")
    conversation_id = visit(db, clock, ("rokotukset", {"type": "team", "target": "neuvola"}))
    hand_off(db, teams, clock, conversation_id, "neuvola")
    clock.now = datetime.fromisoformat("2026-03-10T14:05:00+02:00")
    maintenance.run_once(db, teams, clock(), resume_within=RESUME)
    assert counts(db) == {("neuvola", "wait_closed", "600"): 1}  # 14 min 50 s


def test_days_are_helsinki_days() -> None:
    assert counting.local_day(datetime.fromisoformat("2026-03-10T22:30:00+00:00")) == date(2026, 3, 11)
    assert [counting.bucket(s) for s in (-1, 0, 29.9, 30, 7199, 7200, 99999)] == [
        "0",
        "0",
        "0",
        "30",
        "5400",
        "7200",
        "7200",
    ]


def test_clarifying_questions_and_fallbacks_count_once_per_conversation(
    db: Database, clock: FakeClock
) -> None:
    conversation_id = visit(db, clock, ("öö", None), ("hmm", None))
    with db.writing() as session:  # the bot's replies to the two misses, as the gateway stores them
        for mark in ("clarify", "clarify", "fallback", "something new"):
            sessions.record_uttered(
                session, conversation_id, {"text": "?", "custom": {"understanding": mark}}, clock()
            )
    say(db, clock, conversation_id, "neuvola", {"type": "team", "target": "neuvola"})
    write(db, sessions.end_session, conversation_id, clock())

    assert counts(db) == {
        ("neuvola", "conversations", ""): 1,
        ("neuvola", "route", "team:neuvola"): 1,
        ("neuvola", "understanding", "clarify"): 1,
        ("neuvola", "understanding", "fallback"): 1,
    }
