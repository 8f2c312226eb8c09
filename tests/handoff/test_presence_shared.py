"""Agents' presence and grace period over two replicas sharing one database (SQLite and PostgreSQL).

Two apps served side by side in this process stand for two replicas of the
service behind a load balancer; each has its own database engine, writer and
replica id, and they share the database only (no Redis: what one emits does
not reach the other's sockets, so outcomes are read from the database).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from handoff.app import HandoffApp
from handoff.db import Database
from handoff.gateway import desk_sockets, relay
from handoff.gateway.presence import AgentPresence, requeue_if_away
from handoff.models import Agent as AgentAccount
from handoff.models import DeskSocket, Message
from handoff.queue import enqueue
from handoff.settings import Settings
from opastin import messages
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON, FakeClock, add_agent
from tests.handoff.live_support import Agent, FakeRasa, Live, Resident, build, eventually, live_chat, serve

FAST_HEARTBEAT_S = 0.05


@contextlib.asynccontextmanager
async def replica(
    db: Database, settings: Settings, clock: FakeClock, rasa: FakeRasa, grace_s: float = 0.3
) -> AsyncIterator[Live]:
    """One replica of the service, beating every :data:`FAST_HEARTBEAT_S`."""
    app = build(settings, clock, rasa, grace_s=grace_s)
    presence(app).heartbeat_s = FAST_HEARTBEAT_S
    async with serve(app) as url:
        yield Live(url, rasa, db, app)


@contextlib.asynccontextmanager
async def two_replicas(
    db: Database, settings: Settings, clock: FakeClock, rasa: FakeRasa, grace_s: float = 0.3
) -> AsyncIterator[tuple[Live, Live]]:
    """Replicas A and B of the service side by side on one database (see :func:`replica`)."""
    async with (
        replica(db, settings, clock, rasa, grace_s) as a,
        replica(db, settings, clock, rasa, grace_s) as b,
    ):
        yield a, b


async def chat_on(live: Live) -> tuple[Resident, str, Agent]:
    """A resident on ``live``'s replica in a live chat with maija there; the conversation id and her desk."""
    resident = Resident(live.url)
    await resident.connect()
    conversation_id, desk = await live_chat(live, resident)
    return resident, conversation_id, desk


async def close_chat(resident: Resident, *disconnected_desks: Agent) -> None:
    """Close desks whose sockets the test has already disconnected, then the resident."""
    for desk in disconnected_desks:
        desk.sio = None
        await desk.close()
    await resident.close()


def presence(app: HandoffApp) -> AgentPresence:
    return app.gateway.presence


def freeze(app: HandoffApp) -> None:
    """As if the replica's process were killed: it writes nothing more and deletes nothing."""
    watcher = presence(app)
    watcher._stopped = True
    assert watcher._heartbeats is not None
    watcher._heartbeats.cancel()


def rows(db: Database) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(DeskSocket)).scalar_one()


def agent_id_of(db: Database, username: str) -> int:
    with db.reading() as session:
        return session.execute(select(AgentAccount.id).where(AgentAccount.username == username)).scalar_one()


def agent_lost_messages(db: Database, conversation_id: str) -> int:
    statement = select(func.count()).where(
        Message.conversation_id == conversation_id, Message.text == messages.text("gateway.agent_lost")
    )
    with db.reading() as session:
        return session.execute(statement).scalar_one()


async def second_desk(live: Live, username: str = "maija") -> Agent:
    """The agent's desk on another device, connected to ``live``'s replica."""
    desk = Agent(live.url)
    assert (await desk.login(username)).status_code == 303
    await desk.connect_socket()
    return desk


async def test_a_desk_closing_on_one_replica_keeps_the_chat_while_another_is_open(
    db: Database, settings: Settings, clock: FakeClock, rasa: FakeRasa
) -> None:
    async with two_replicas(db, settings, clock, rasa) as (a, b):
        resident, conversation_id, desk_a = await chat_on(a)
        desk_b = await second_desk(b)
        await eventually(lambda: rows(db) == 2)

        await desk_a.sio.disconnect()
        await eventually(lambda: rows(db) == 1)
        await asyncio.sleep(1.0)  # the grace period and several heartbeats
        assert a.conversation(conversation_id).status == "active"

        await desk_b.sio.disconnect()
        await eventually(lambda: a.conversation(conversation_id).status == "queued")
        await asyncio.sleep(0.5)  # both replicas beat again, and nothing more happens
        assert agent_lost_messages(db, conversation_id) == 1
        assert rows(db) == 0
        await close_chat(resident, desk_a, desk_b)


async def test_a_desk_back_and_gone_again_elsewhere_restarts_the_grace_period(
    db: Database, settings: Settings, clock: FakeClock, rasa: FakeRasa
) -> None:
    async with two_replicas(db, settings, clock, rasa, grace_s=2) as (a, b):
        resident, conversation_id, desk_a = await chat_on(a)
        agent_id = agent_id_of(db, "maija")
        await desk_a.sio.disconnect()
        await eventually(lambda: agent_id in presence(a.app)._grace)
        desk_b = await second_desk(b)
        await asyncio.sleep(0.5)
        await desk_b.sio.disconnect()
        await eventually(lambda: agent_id in presence(b.app)._grace)

        await eventually(lambda: agent_id not in presence(a.app)._grace)  # A's period is over
        await asyncio.sleep(0.2)
        assert agent_id in presence(b.app)._grace
        assert a.conversation(conversation_id).status == "active"

        await eventually(lambda: a.conversation(conversation_id).status == "queued")
        assert agent_lost_messages(db, conversation_id) == 1
        await close_chat(resident, desk_a, desk_b)


async def test_a_vanished_replicas_desks_count_until_stale_then_the_survivor_requeues(
    db: Database, settings: Settings, clock: FakeClock, rasa: FakeRasa
) -> None:
    async with two_replicas(db, settings, clock, rasa) as (a, b):
        resident, conversation_id, desk_b = await chat_on(b)
        freeze(b.app)
        await desk_b.sio.disconnect()  # the killed replica's socket is gone, its row stays
        await asyncio.sleep(1.0)
        assert rows(db) == 1
        assert a.conversation(conversation_id).status == "active"

        clock.advance(seconds=31)  # B missed three heartbeats: its rows are stale
        await eventually(lambda: a.conversation(conversation_id).status == "queued")
        assert agent_lost_messages(db, conversation_id) == 1
        assert rows(db) == 0
        await close_chat(resident, desk_b)


async def test_a_restarted_replica_starts_the_grace_period_of_agents_with_live_chats(
    db: Database, settings: Settings, clock: FakeClock, rasa: FakeRasa
) -> None:
    async with replica(db, settings, clock, rasa, grace_s=30) as first:
        resident, conversation_id, desk = await chat_on(first)
        await resident.close()
        await desk.close()
    assert rows(db) == 0  # a clean stop deletes the replica's rows
    async with replica(db, settings, clock, rasa) as again:
        await eventually(lambda: again.conversation(conversation_id).status == "queued")
    assert agent_lost_messages(db, conversation_id) == 1


def chat_in_database(db: Database, teams: Teams) -> int:
    """Conversation ``c1`` live with maija, written directly; her id."""
    agent = add_agent(db, "maija", ["neuvola"])
    with db.writing() as session:
        enqueue(session, teams.get("neuvola"), "c1", "Kysymys rokotuksista", [], TUESDAY_NOON)
    with db.writing() as session:
        relay.accept(session, teams, agent.id, "neuvola", None, TUESDAY_NOON)
    return agent.id


def test_a_heartbeat_deletes_stale_rows_and_writes_its_own_missing_ones(db: Database, teams: Teams) -> None:
    agent_id = chat_in_database(db, teams)
    with db.writing() as session:
        desk_sockets.opened(session, "b", "socket-b", agent_id, TUESDAY_NOON)
    later = TUESDAY_NOON + desk_sockets.STALE_AFTER
    with db.writing() as session:
        assert desk_sockets.heartbeat(session, "a", {}, later) == []  # B's row counts still
    with db.writing() as session:
        assert desk_sockets.heartbeat(session, "a", {}, later + timedelta(seconds=1)) == [agent_id]
    assert rows(db) == 0
    with db.writing() as session:  # A's row was lost (a failed write): the heartbeat writes it
        assert desk_sockets.heartbeat(session, "a", {"socket-a": agent_id}, later) == []
    assert rows(db) == 1


def test_an_agent_who_never_opened_a_desk_socket_is_swept_only_when_a_replica_starts(
    db: Database, teams: Teams
) -> None:
    agent_id = chat_in_database(db, teams)  # accepted from the desk without scripts: no socket
    later = TUESDAY_NOON + 10 * desk_sockets.STALE_AFTER
    with db.writing() as session:
        assert desk_sockets.heartbeat(session, "a", {}, later) == []
    with db.writing() as session:
        assert desk_sockets.heartbeat(session, "b", {}, later, starting=True) == [agent_id]


def test_two_replicas_ending_the_grace_period_at_once_requeue_once(
    db: Database, database_url: str, teams: Teams
) -> None:
    agent_id = chat_in_database(db, teams)
    replicas = [Database(database_url), Database(database_url)]

    def grace_over(replica_db: Database, replica_id: str) -> relay.Outcome:
        with replica_db.writing() as session:
            return requeue_if_away(session, replica_id, teams, agent_id, TUESDAY_NOON)

    try:
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(grace_over, replicas, ["a", "b"]))
    finally:
        for replica_db in replicas:
            replica_db.dispose()
    assert sorted(len(outcome.posted) for outcome in outcomes) == [0, 1]
    assert agent_lost_messages(db, "c1") == 1
