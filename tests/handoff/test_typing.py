"""Typing indicators of a live chat: only a state, only between the resident and the agent holding the
chat, throttled on the server, never stored, logged or sent to Rasa (handoff/gateway/indicators.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from handoff.db import Database
from handoff.gateway import indicators
from handoff.gateway.indicators import TypingGate, TypingGates, desk_state, resident_state
from handoff.models import AuditEntry, Message, SessionMessage
from tests.handoff.conftest import add_agent
from tests.handoff.live_support import (
    Agent,
    Live,
    Resident,
    conversation_of,
    eventually,
    live_chat,
    sender_of,
)

QUIET_S = 0.3  # how long to wait for an event that must not come


class Ticks:
    """A monotonic clock for the gates that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the gate and the payloads ------------------------------------------------------------------


def test_a_gate_lets_one_typing_through_per_interval_and_a_stop_only_after_it() -> None:
    ticks = Ticks()
    gate = TypingGate(ticks, interval=2.0)
    assert gate.allow(False) is False  # nothing to stop yet
    assert gate.allow(True) is True
    assert [gate.allow(True) for _ in range(5)] == [False] * 5
    ticks.now += 1.9
    assert gate.allow(True) is False
    assert gate.allow(False) is True
    assert gate.allow(False) is False  # one stop per start
    assert gate.allow(True) is False  # a stop does not reset the interval
    ticks.now += 0.1
    assert gate.allow(True) is True


def test_gates_are_kept_per_sender_and_bounded() -> None:
    ticks = Ticks()
    gates = TypingGates(limit=3, clock=ticks)
    assert gates.allow("a", False) is False and len(gates) == 0  # a stop alone takes no room
    assert gates.allow("a", True) and gates.allow("b", True)
    assert not gates.allow("a", True)  # "b" has a gate of its own, "a" is throttled
    for key in ("c", "d", "e"):
        assert gates.allow(key, True)
    assert len(gates) == 3  # the idlest ("a", "b") forgotten


@pytest.mark.parametrize("payload", [{"typing": True}, {"typing": False}])
def test_a_residents_state_is_exactly_one_boolean(payload: dict[str, bool]) -> None:
    assert resident_state(payload) is payload["typing"]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        True,
        "typing",
        ["typing"],
        {},
        {"typing": 1},
        {"typing": "true"},
        {"typing": None},
        {"typing": True, "text": "hei"},
        {"typing": True, "message": "hei"},
        {"state": "typing"},
    ],
)
def test_anything_else_from_a_resident_is_ignored(payload: Any) -> None:
    assert resident_state(payload) is None


def test_a_desk_state_names_one_conversation_and_a_boolean() -> None:
    assert desk_state({"conversation_id": "w-0123abcd", "typing": True}) == ("w-0123abcd", True)
    assert desk_state({"conversation_id": "t1:x@y.z_-", "typing": False}) == ("t1:x@y.z_-", False)
    for payload in [
        None,
        {"conversation_id": "w-1"},
        {"conversation_id": "w-1", "typing": 0},
        {"conversation_id": 5, "typing": True},
        {"conversation_id": "", "typing": True},
        {"conversation_id": "w-1 OR 1=1", "typing": True},
        {"conversation_id": "x" * 129, "typing": True},
        {"conversation_id": "w-1", "typing": True, "text": "Hei, olen hoitaja"},
    ]:
        assert desk_state(payload) is None, payload


# -- over real sockets ------------------------------------------------------------------------------


@pytest.fixture
def ticks(live: Live) -> Ticks:
    """The gates' clock, standing still: a second "typing" passes only after ``ticks.now += 2``."""
    ticks = Ticks()
    live.app.gateway.residents.typing_gates = TypingGates(indicators.MAX_GATES, ticks)
    live.app.gateway.desk_sockets.typing_gates = TypingGates(indicators.MAX_GATES, ticks)
    return ticks


class Typing:
    """The ``typing`` events one client receives."""

    def __init__(self, client: Any, namespace: str = "/") -> None:
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        client.on("typing", self.events.put_nowait, namespace=namespace)

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        """The next event."""
        return await asyncio.wait_for(self.events.get(), timeout)

    async def none(self) -> None:
        """Nothing (more) comes."""
        await asyncio.sleep(QUIET_S)
        assert self.events.empty(), self.events.get_nowait()


def of_desk(agent: Agent) -> Typing:
    assert agent.sio is not None
    return Typing(agent.sio, "/desk")


async def resident_types(resident: Resident, payload: Any) -> None:
    await resident.sio.emit("typing", payload)


async def agent_types(agent: Agent, payload: Any) -> None:
    assert agent.sio is not None
    await agent.sio.emit("typing", payload, namespace="/desk")


def stored_counts(db: Database) -> tuple[int, ...]:
    """Messages, the resident's session messages and audit entries stored so far."""
    with db.reading() as session:
        return tuple(
            session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Message, SessionMessage, AuditEntry)
        )


async def test_the_resident_typing_reaches_only_the_agent_holding_the_chat(
    live: Live, resident: Resident, ticks: Ticks, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    add_agent(live.db, "liisa", ["neuvola"])  # a colleague in the same team, desk open
    colleague = Agent(live.url)
    await colleague.login("liisa")
    await colleague.connect_socket()
    at_agent, at_colleague, at_resident = of_desk(agent), of_desk(colleague), Typing(resident.sio)
    bot_calls, stored = len(live.rasa.received), stored_counts(live.db)
    caplog.set_level(logging.DEBUG)

    await resident_types(resident, {"typing": True})
    assert await at_agent.next() == {"conversation_id": conversation_id, "typing": True}
    await resident_types(resident, {"typing": False})
    assert await at_agent.next() == {"conversation_id": conversation_id, "typing": False}

    await at_colleague.none()
    await at_resident.none()  # the resident's own state is not echoed
    assert len(live.rasa.received) == bot_calls  # never to the bot
    assert stored_counts(live.db) == stored  # nothing stored, nothing audited
    assert [record for record in caplog.records if record.name.startswith("handoff")] == []
    await colleague.close()
    await agent.close()


async def test_the_agent_typing_reaches_only_their_resident(
    live: Live, resident: Resident, ticks: Ticks
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    other = Resident(live.url)  # someone else chatting with the bot meanwhile
    await other.connect()
    at_resident, at_other = Typing(resident.sio), Typing(other.sio)
    bot_calls, stored = len(live.rasa.received), stored_counts(live.db)

    await agent_types(agent, {"conversation_id": conversation_id, "typing": True})
    assert await at_resident.next() == {"typing": True}
    await agent_types(agent, {"conversation_id": conversation_id, "typing": False})
    assert await at_resident.next() == {"typing": False}

    await at_other.none()
    assert resident.drain() == [] and other.drain() == []  # no bot_uttered, no text
    assert len(live.rasa.received) == bot_calls
    assert stored_counts(live.db) == stored
    await other.close()
    await agent.close()


async def test_typing_faster_than_the_throttle_is_dropped_both_ways(
    live: Live, resident: Resident, ticks: Ticks
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    at_agent, at_resident = of_desk(agent), Typing(resident.sio)
    for _ in range(10):
        await resident_types(resident, {"typing": True})
    for _ in range(4):  # within the desk socket's burst: the gate drops these, not the flood limit
        await agent_types(agent, {"conversation_id": conversation_id, "typing": True})
    for _ in range(3):
        await resident_types(resident, {"typing": False})
        await agent_types(agent, {"conversation_id": conversation_id, "typing": False})
    assert await at_agent.next() == {"conversation_id": conversation_id, "typing": True}
    assert await at_agent.next() == {"conversation_id": conversation_id, "typing": False}
    assert await at_resident.next() == {"typing": True}
    assert await at_resident.next() == {"typing": False}
    await at_agent.none()
    await at_resident.none()

    ticks.now += indicators.MIN_INTERVAL_S  # the pages' next "typing", 2.5 s later
    await resident_types(resident, {"typing": True})
    await agent_types(agent, {"conversation_id": conversation_id, "typing": True})
    assert (await at_agent.next())["typing"] is True
    assert await at_resident.next() == {"typing": True}
    await agent.close()


async def test_a_resident_with_many_sockets_is_throttled_as_one(
    live: Live, resident: Resident, ticks: Ticks
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    at_agent = of_desk(agent)
    tabs = [Resident(live.url) for _ in range(3)]
    for tab in tabs:
        await tab.connect(resident.secret)
    for tab in [resident, *tabs]:
        await resident_types(tab, {"typing": True})
    assert (await at_agent.next())["typing"] is True
    await at_agent.none()
    for tab in tabs:
        await tab.close()
    await agent.close()


async def test_malformed_typing_is_ignored_and_never_carries_text(
    live: Live, resident: Resident, ticks: Ticks
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    at_agent, at_resident = of_desk(agent), Typing(resident.sio)
    for payload in [None, "typing", 1, {"typing": "true"}, {"typing": True, "text": "salaisuus"}]:
        await resident_types(resident, payload)
    for payload in [
        {"typing": True},
        {"conversation_id": conversation_id, "typing": 1},
        {"conversation_id": conversation_id, "typing": True, "text": "salaisuus"},
        {"conversation_id": [conversation_id], "typing": True},
    ]:
        await agent_types(agent, payload)
    await at_agent.none()
    await at_resident.none()
    # Each side's next valid state is the first thing the other side gets.
    await resident_types(resident, {"typing": True})
    await agent_types(agent, {"conversation_id": conversation_id, "typing": True})
    assert await at_agent.next() == {"conversation_id": conversation_id, "typing": True}
    assert await at_resident.next() == {"typing": True}
    assert "salaisuus" not in str(resident.drain())
    await agent.close()


async def test_typing_is_relayed_only_in_a_live_chat_held_by_that_agent(
    live: Live, resident: Resident, ticks: Ticks
) -> None:
    # Queued: the team's desks get no typing, and a team member cannot type to the resident.
    add_agent(live.db, "maija", ["neuvola"], present=False)
    add_agent(live.db, "ville", ["aikuissosiaalityo"])  # another team
    conversation_id = await conversation_of(resident, live)
    agent, stranger = Agent(live.url), Agent(live.url)
    await agent.login("maija")
    await stranger.login("ville")
    await agent.present("neuvola")
    await agent.connect_socket()
    await stranger.connect_socket()
    at_agent, at_stranger, at_resident = of_desk(agent), of_desk(stranger), Typing(resident.sio)
    # Each refused state waits for its own tick, so that the gate has let it through and the
    # chat's state alone refuses it.
    await resident_types(resident, {"typing": True})  # in bot mode
    await at_agent.none()
    assert (await live.handoff(conversation_id)).status_code == 201
    await resident.until(lambda message: "queue" in message.get("custom", {}))
    ticks.now += 2
    await resident_types(resident, {"typing": True})  # queued
    await agent_types(agent, {"conversation_id": conversation_id, "typing": True})
    await at_agent.none()
    await at_resident.none()

    # Live with maija: another team's agent who knows the id reaches nobody; maija does.
    assert await agent.accept("neuvola") == conversation_id
    await resident.until(lambda message: sender_of(message) == "system")
    ticks.now += 2
    await agent_types(stranger, {"conversation_id": conversation_id, "typing": True})
    await at_resident.none()
    await agent_types(agent, {"conversation_id": conversation_id, "typing": True})
    assert await at_resident.next() == {"typing": True}
    await resident_types(resident, {"typing": True})
    assert (await at_agent.next())["typing"] is True
    await at_stranger.none()

    # Ended: the bot has the conversation again and nobody's typing is relayed.
    assert (await agent.post(f"/desk/conversations/{conversation_id}/end")).status_code == 200
    await resident.until(lambda message: message.get("text") == "Botti: /give_feedback")
    ticks.now += 2
    await agent_types(agent, {"conversation_id": conversation_id, "typing": True})
    await resident_types(resident, {"typing": True})
    await at_agent.none()
    await at_resident.none()
    await stranger.close()
    await agent.close()


async def test_a_residents_typing_never_overtakes_their_message(
    live: Live, resident: Resident, ticks: Ticks
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    seen: list[tuple[str, Any]] = []
    assert agent.sio is not None
    agent.sio.on("typing", lambda data: seen.append(("typing", data["typing"])), namespace="/desk")
    agent.sio.on(
        "message",
        lambda data: seen.append(("message", data["text"])) if data["sender"] == "resident" else None,
        namespace="/desk",
    )
    await resident_types(resident, {"typing": True})
    await resident_types(resident, {"typing": False})
    await resident.say("Milloin seuraava rokotus on?")
    await eventually(lambda: len(seen) == 3)
    ticks.now += 2  # only now: the gate saw the first "typing" at the old time
    await resident_types(resident, {"typing": True})
    await eventually(lambda: len(seen) == 4)
    assert seen == [
        ("typing", True),
        ("typing", False),
        ("message", "Milloin seuraava rokotus on?"),
        ("typing", True),
    ]
    await agent.close()
