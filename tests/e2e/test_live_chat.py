"""Live chat end to end with real processes: Rasa server, action server and the handoff service.

The resident is python-socketio's client speaking exactly what the rasa-webchat
widget sends (``session_request``, ``user_uttered``); the agents use the desk's
HTTP forms and its ``/desk`` socket. The path: triage → queue → accept → ten
messages each way, in order → transfer with consent → end → the bot again.
Needs the trained model models/opastin.tar.gz (``make train``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.stack import Rasa
from opastin import messages
from tests.e2e.stack import conversation_id_of, query_one, running_stack
from tests.handoff.live_support import Agent, Resident, sender_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def services(rasa: Rasa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Rasa, actions and the handoff service with two agents; yields the URLs and passwords."""
    agents = {"maija": "neuvola", "pekka": "perhekeskus"}
    with running_stack(rasa, tmp_path_factory.mktemp("live-chat"), agents) as stack:
        yield stack


async def test_triage_queue_live_chat_transfer_end_and_feedback(services: dict[str, str]) -> None:
    url = services["url"]
    resident = Resident(url)
    secret = await resident.connect()

    maija, pekka = Agent(url), Agent(url)
    assert (await maija.login("maija", services["maija"])).status_code == 303
    assert (await pekka.login("pekka", services["pekka"])).status_code == 303
    await maija.present("neuvola")
    await pekka.present("perhekeskus")
    await maija.connect_socket()
    await pekka.connect_socket()

    # Triage: a clear neuvola question gets a team route with the live availability in the first bot
    # turn, then the offer to join the queue; the resident clicks "Kyllä, jonoon".
    await resident.say("lapsen rokotukset neuvolassa")
    routed = await resident.until(lambda message: "route" in message.get("custom", {}), timeout=30)
    assert routed["custom"]["route"]["type"] == "team"
    assert routed["custom"]["route"]["target"] == "neuvola"
    assert routed["custom"]["route"]["accepting"] is True
    offer = await resident.until(lambda message: "quick_replies" in message, timeout=30)
    assert offer["quick_replies"][0] == {
        "content_type": "text",
        "title": "Kyllä, jonoon",
        "payload": "/join_queue",
    }
    await resident.say("/join_queue")
    # The gateway pushes the queue position as soon as the action creates the handoff, so it may
    # arrive before or after the bot's own "you are in the queue" text.
    seen: dict[str, dict] = {}
    while len(seen) < 2:
        message = await resident.next(timeout=30)
        if "queue" in message.get("custom", {}):
            seen["queue"] = message
        elif message.get("text", "").startswith("Olet nyt jonossa"):
            seen["text"] = message
    assert seen["queue"]["custom"]["queue"]["position"] == 1
    assert seen["text"]["text"].startswith("Olet nyt jonossa sijalla 1.")
    conversation_id = conversation_id_of(services["database"], secret)

    assert await maija.accept("neuvola") == conversation_id
    await resident.until(
        lambda message: message.get("text") == messages.text("gateway.agent_joined", name="maija")
    )
    resident.drain()

    for number in range(10):
        await resident.say(f"asukkaan viesti {number}")
    for number in range(10):
        assert (await maija.next_message())["text"] == f"asukkaan viesti {number}"
    for number in range(10):
        await maija.reply(conversation_id, f"hoitajan viesti {number}")
    received = [await resident.next() for _ in range(10)]
    assert [message["text"] for message in received] == [f"hoitajan viesti {number}" for number in range(10)]
    assert {sender_of(message) for message in received} == {"agent"}

    # Transfer with consent; the history follows to the new team.
    transfer = await maija.post(f"/desk/conversations/{conversation_id}/transfer", team="perhekeskus")
    assert transfer.status_code == 200, transfer.text
    question = await resident.until(lambda message: "quick_replies" in message)
    await resident.say(question["quick_replies"][0]["payload"])
    await resident.until(lambda message: message.get("text", "").startswith("Siirsimme"))
    assert await pekka.accept("perhekeskus") == conversation_id
    page = await pekka.http.get(f"/desk/conversations/{conversation_id}")
    assert "asukkaan viesti 9" in page.text and "hoitajan viesti 9" in page.text
    await pekka.reply(conversation_id, "Perhekeskuksesta hei")
    joined = await resident.until(lambda message: sender_of(message) == "agent")
    assert (joined["text"], joined["custom"]["sender_name"]) == ("Perhekeskuksesta hei", "pekka")

    # End: the resident is told, and the bot asks for feedback, which is stored.
    assert (await pekka.post(f"/desk/conversations/{conversation_id}/end")).status_code == 200
    assert (await resident.until(lambda message: sender_of(message) == "system"))["text"] == messages.text(
        "gateway.chat_ended"
    )
    question = await resident.until(
        lambda message: sender_of(message) == "bot" and bool(message.get("text")), timeout=30
    )
    assert "asteikolla 1–5" in question["text"]
    resident.drain()
    await resident.say("4")
    comment = await resident.until(
        lambda message: sender_of(message) == "bot" and bool(message.get("text")), timeout=30
    )
    assert "mitä voisimme tehdä paremmin" in comment["text"]
    await resident.say("Nopea ja ystävällinen palvelu")
    thanks = await resident.until(
        lambda message: sender_of(message) == "bot" and bool(message.get("text")), timeout=30
    )
    assert thanks["text"].startswith("Kiitos palautteestasi")
    sql = "SELECT rating, comment FROM feedback WHERE conversation_id = :id"
    assert query_one(services["database"], sql, id=conversation_id) == (4, "Nopea ja ystävällinen palvelu")

    await resident.close()
    await maija.close()
    await pekka.close()
