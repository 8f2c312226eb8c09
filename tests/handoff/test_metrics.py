"""What the gateway and the queues count: bot latency and errors, relayed messages, ended waits."""

from __future__ import annotations

import json

import httpx
import pytest

from handoff import metrics, queue
from handoff.db import Database
from handoff.errors import BotUnavailable
from handoff.gateway.rasa import RasaClient
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON, add_agent
from tests.handoff.live_support import (
    FakeRasa,
    Live,
    Resident,
    conversation_of,
    live_chat,
    sender_of,
)


def counted(name: str, **labels: str) -> float:
    """A process-wide metric's current value (0 before its first count)."""
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa(delay_s=0.05)  # the bot thinks for 50 ms


async def test_a_resident_message_is_timed_until_the_bot_replied(live: Live, resident: Resident) -> None:
    replies = counted("opastin_bot_reply_seconds_count")
    waited = counted("opastin_bot_reply_seconds_sum")
    quick = counted("opastin_bot_reply_seconds_bucket", le="0.05")
    await resident.say("hei")
    assert (await resident.next())["text"] == "Botti: hei"
    assert counted("opastin_bot_reply_seconds_count") == replies + 1
    assert counted("opastin_bot_reply_seconds_sum") - waited >= 0.05
    assert counted("opastin_bot_reply_seconds_bucket", le="0.05") == quick  # it took longer than 50 ms


async def test_rasa_down_counts_a_connection_error_and_no_reply_time(live: Live, resident: Resident) -> None:
    live.rasa.down = True
    errors = counted("opastin_bot_errors_total", kind="connection")
    replies = counted("opastin_bot_reply_seconds_count")
    await resident.say("hei")
    assert sender_of(await resident.next()) == "system"
    assert counted("opastin_bot_errors_total", kind="connection") == errors + 1
    assert counted("opastin_bot_reply_seconds_count") == replies


def failing(handler) -> RasaClient:  # type: ignore[no-untyped-def]
    """A Rasa client whose every request ``handler`` answers (or fails)."""
    return RasaClient("http://rasa.test", client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def raise_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("Rasa is slow", request=request)


@pytest.mark.parametrize(
    ("handler", "kind"),
    [
        (raise_timeout, "timeout"),
        (lambda request: httpx.Response(500, json={"error": "boom"}), "http"),
        (lambda request: httpx.Response(200, content=b"not json"), "invalid"),
        (lambda request: httpx.Response(200, json={"text": "not a list"}), "invalid"),
    ],
)
async def test_each_kind_of_bot_failure_is_counted(handler, kind: str) -> None:  # type: ignore[no-untyped-def]
    before = counted("opastin_bot_errors_total", kind=kind)
    with pytest.raises(BotUnavailable):
        await failing(handler).send("w-secret-conversation", "hei", {})
    assert counted("opastin_bot_errors_total", kind=kind) == before + 1


async def test_live_chat_messages_are_counted_each_way(live: Live, resident: Resident) -> None:
    conversation_id, agent = await live_chat(live, resident)
    to_agent = counted("opastin_live_messages_total", direction="resident_to_agent")
    to_resident = counted("opastin_live_messages_total", direction="agent_to_resident")
    for number in range(3):
        await resident.say(f"asukas {number}")
        await agent.next_message()
    await agent.reply(conversation_id, "hoitaja vastaa")
    await resident.until(lambda message: sender_of(message) == "agent")
    assert counted("opastin_live_messages_total", direction="resident_to_agent") == to_agent + 3
    assert counted("opastin_live_messages_total", direction="agent_to_resident") == to_resident + 1
    await agent.close()


async def test_the_scrape_names_no_conversation_and_no_text(live: Live, resident: Resident) -> None:
    conversation_id, agent = await live_chat(live, resident)
    await resident.say("oma salainen viesti")
    await agent.next_message()
    await agent.reply(conversation_id, "hoitajan salainen vastaus")
    async with httpx.AsyncClient(base_url=live.url) as http:  # uvicorn on 127.0.0.1: a local scrape
        scraped = await http.get("/metrics")
    assert scraped.status_code == 200
    assert 'opastin_live_chats{team="neuvola"} 1.0' in scraped.text
    assert "opastin_resident_sockets 1.0" in scraped.text
    for private in (conversation_id, "salainen", "maija", resident.secret, resident.reference):
        assert private and private not in scraped.text
    await agent.close()


async def test_another_conversation_id_is_not_learnt_from_the_bot_either(
    live: Live, resident: Resident
) -> None:
    conversation_id = await conversation_of(resident, live)
    async with httpx.AsyncClient(base_url=live.url) as http:
        assert conversation_id not in (await http.get("/metrics")).text


def test_a_wait_is_counted_only_when_its_transaction_commits(db: Database, teams: Teams) -> None:
    add_agent(db, "maija", ["neuvola"])
    with db.writing() as session:
        queue.enqueue(session, teams.get("neuvola"), "w-rolled-back", "", [], TUESDAY_NOON)
    cancelled = counted("opastin_queue_wait_seconds_count", outcome="cancelled")
    with pytest.raises(RuntimeError), db.writing() as session:
        queue.leave_queue(session, "w-rolled-back", TUESDAY_NOON)
        raise RuntimeError("the transaction fails after the wait ended")
    assert counted("opastin_queue_wait_seconds_count", outcome="cancelled") == cancelled
    with db.writing() as session:
        queue.leave_queue(session, "w-rolled-back", TUESDAY_NOON)
    assert counted("opastin_queue_wait_seconds_count", outcome="cancelled") == cancelled + 1


async def test_a_message_refused_by_a_dead_server_is_sent_once_more_as_a_retry() -> None:
    bodies: list[dict] = []

    def first_refused(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            return httpx.Response(502, text="the load balancer's server died")
        return httpx.Response(200, json=[{"text": "Hei!"}])

    retries, errors = counted("opastin_bot_retries_total"), counted("opastin_bot_errors_total", kind="http")
    assert await failing(first_refused).send("w-conversation", "hei", {}) == [{"text": "Hei!"}]
    assert [body.get("retry") for body in bodies] == [None, True]
    assert bodies[0]["message_id"] == bodies[1]["message_id"] and len(bodies[0]["message_id"]) == 32
    assert counted("opastin_bot_retries_total") == retries + 1
    assert counted("opastin_bot_errors_total", kind="http") == errors


async def test_a_slow_bot_is_not_asked_twice() -> None:
    calls: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise_timeout(request)

    with pytest.raises(BotUnavailable):
        await failing(slow).send("w-conversation", "hei", {})
    assert len(calls) == 1
