"""A professional's reply over the desk socket (handoff/desk/socket.py ``reply``): the same write as
the reply form — stored, relayed to the resident in order, refused for a chat one does not hold —
acknowledged with the stored message or an error, and bounded per socket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from handoff.desk import socket as desk_socket
from tests.handoff.conftest import add_agent
from tests.handoff.live_support import Agent, Live, Resident, live_chat, sender_of


async def reply(agent: Agent, data: Any) -> dict[str, Any]:
    assert agent.sio is not None
    answer: dict[str, Any] = await agent.sio.call("reply", data, namespace="/desk", timeout=5)
    return answer


async def test_a_reply_over_the_socket_reaches_the_resident_and_is_stored(
    live: Live, resident: Resident
) -> None:
    conversation_id, holder = await live_chat(live, resident)
    answer = await reply(holder, {"conversation_id": conversation_id, "text": "  Hei, miten voin auttaa?  "})
    message = answer["message"]
    assert (message["sender"], message["author"], message["text"]) == (
        "agent",
        "maija",
        "Hei, miten voin auttaa?",
    )
    heard = await resident.until(lambda said: said.get("text") == "Hei, miten voin auttaa?")
    assert sender_of(heard) == "agent"
    page = (await holder.http.get(f"/desk/conversations/{conversation_id}")).text
    assert "Hei, miten voin auttaa?" in page  # stored with the conversation
    for number in range(5):  # in order, one after another
        await reply(holder, {"conversation_id": conversation_id, "text": f"viesti {number}"})
    for number in range(5):
        assert (await resident.until(lambda said: said.get("text", "").startswith("viesti")))["text"] == (
            f"viesti {number}"
        )
    await holder.close()


async def test_a_reply_to_a_chat_one_does_not_hold_is_refused(live: Live, resident: Resident) -> None:
    conversation_id, holder = await live_chat(live, resident)
    add_agent(live.db, "liisa", ["neuvola"])
    colleague = Agent(live.url)
    await colleague.login("liisa")
    await colleague.connect_socket()
    refused = await reply(colleague, {"conversation_id": conversation_id, "text": "Hei"})
    assert refused["error"]["code"] == "forbidden"
    unknown = await reply(holder, {"conversation_id": "ei-ole", "text": "Hei"})
    assert unknown["error"]["code"] == "forbidden"
    for malformed in (
        None,
        "Hei",
        {"conversation_id": conversation_id},
        {"conversation_id": "x y", "text": "a"},
        {"conversation_id": conversation_id, "text": "   "},
        {"conversation_id": conversation_id, "text": "x" * 4001},
    ):
        assert (await reply(holder, malformed))["error"]["code"] == "invalid_request"
    await holder.post(f"/desk/conversations/{conversation_id}/end")
    ended = await reply(holder, {"conversation_id": conversation_id, "text": "vielä"})
    assert "error" in ended
    assert all("vielä" not in str(said) and said.get("text") != "Hei" for said in resident.drain())
    await colleague.close()
    await holder.close()


async def test_replies_faster_than_the_sockets_limit_are_refused(live: Live, resident: Resident) -> None:
    conversation_id, holder = await live_chat(live, resident)
    burst, _rate = desk_socket.REPLIES
    answers = await asyncio.gather(  # all at once: the bucket refills 10 a second
        *(reply(holder, {"conversation_id": conversation_id, "text": f"nro {n}"}) for n in range(burst + 10))
    )
    refused = [answer for answer in answers if "error" in answer]
    assert refused and all(answer["error"]["code"] == "too_many_requests" for answer in refused)
    assert len(answers) - len(refused) >= burst
    await holder.close()


async def test_a_reply_the_database_could_not_store_is_refused_at_once(
    live: Live, resident: Resident, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id, holder = await live_chat(live, resident)

    async def database_away(*_: Any) -> None:
        raise OperationalError("INSERT …", {}, Exception("connection refused"))

    monkeypatch.setattr(live.app.gateway, "agent_says", database_away)
    refused = await reply(holder, {"conversation_id": conversation_id, "text": "Hei"})
    assert refused["error"]["code"] == "unavailable"
    await holder.close()
