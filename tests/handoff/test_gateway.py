"""The chat gateway over real sockets: sessions, the bot, the live relay, faults."""

from __future__ import annotations

import asyncio
import re

import pytest
import socketio
from sqlalchemy import select

from handoff.db import Database
from handoff.gateway import consent
from handoff.models import AuditEntry, DailyCount, Message, ResidentSession, SessionMessage
from handoff.settings import Settings
from opastin import messages
from tests.handoff.conftest import FakeClock, add_agent
from tests.handoff.live_support import (
    CONNECT_TIMEOUT_S,
    Agent,
    FakeRasa,
    Live,
    Resident,
    build,
    conversation_of,
    eventually,
    live_chat,
    sender_of,
    serve,
)


async def test_new_session_gets_a_server_issued_secret_and_the_bot_answers(live: Live) -> None:
    resident = Resident(live.url)
    secret = await resident.connect()
    assert isinstance(secret, str) and len(secret) >= 40
    await resident.say("hei", session_id="chosen-by-client")
    assert (await resident.next()) == {"text": "Botti: hei"}
    body = live.rasa.received[-1]
    assert body["sender"].startswith("w-") and body["sender"] not in (secret, "chosen-by-client")
    assert body["metadata"]["channel"] == "opastin-webchat"
    with live.db.reading() as session:
        stored = session.get(ResidentSession, body["sender"])
        assert stored.secret_hash != secret and len(stored.secret_hash) == 64
    assert resident.reference == stored.reference  # shown on the page, for data subject requests
    assert re.fullmatch(r"KS-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", resident.reference)
    await resident.close()


IDENTITY_CODES = ["131052-308T", "131052308t", "131052 308T", "131052\u2013308T", "010594Y9032"]


async def test_identity_codes_never_reach_rasa_or_storage_and_the_resident_is_told_once(
    live: Live, resident: Resident
) -> None:
    for code in IDENTITY_CODES:
        await resident.say(f"hetu:{code}, asia neuvolaan", custom_data={"note": f"hetu {code}"})
        await resident.until(lambda message: str(message.get("text", "")).startswith("Botti: hetu:"))
    sent = live.rasa.received[-len(IDENTITY_CODES) :]
    assert [body["message"] for body in sent] == ["hetu:******-****, asia neuvolaan"] * len(IDENTITY_CODES)
    assert all(body["metadata"]["customData"] == {"note": "hetu ******-****"} for body in sent)
    with live.db.reading() as session:
        stored = list(session.execute(select(SessionMessage.text)).scalars())
    assert stored.count(messages.text("gateway.hetu_removed")) == 1
    assert not any(code.lower() in str(text).lower() for text in stored for code in IDENTITY_CODES)
    assert not any("308" in str(text) or "9032" in str(text) for text in stored)


async def test_bot_replies_are_relayed_in_order_with_quick_replies_and_route(
    live: Live, resident: Resident
) -> None:
    def answer(sender: str, text: str) -> list[dict]:
        return [
            {"recipient_id": sender, "text": "Ohjaan sinut neuvolaan."},
            {"recipient_id": sender, "custom": {"route": {"type": "team", "target": "neuvola"}}},
            {
                "recipient_id": sender,
                "text": "Jatketaanko?",
                "buttons": [{"title": "Kyllä", "payload": "/affirm"}],
            },
        ]

    live.rasa.answer = answer
    await resident.say("lapsen rokotukset neuvolassa")
    first, second, third = [await resident.next() for _ in range(3)]
    assert first == {"text": "Ohjaan sinut neuvolaan."}
    assert second["custom"]["route"] == {"type": "team", "target": "neuvola"}
    assert third["quick_replies"] == [{"content_type": "text", "title": "Kyllä", "payload": "/affirm"}]


async def test_a_returning_browser_resumes_only_with_its_secret(live: Live, resident: Resident) -> None:
    conversation_id = await conversation_of(resident, live)
    secret = resident.secret
    await resident.close()

    back = Resident(live.url)
    assert await back.connect(secret) == secret
    history = [await back.next(), await back.next()]
    assert [message["text"] for message in history] == ["hei", "Botti: hei"]
    assert all(message["custom"]["history"] is True for message in history)
    assert history[0]["custom"]["sender"] == "resident"
    await back.say("taas")
    await back.until(lambda message: message.get("text") == "Botti: taas")
    assert live.rasa.received[-1]["sender"] == conversation_id
    await back.close()


async def test_a_reload_while_the_bot_answers_loses_nothing(live: Live, resident: Resident) -> None:
    await conversation_of(resident, live)
    secret = resident.secret
    live.rasa.delay_s = 1.0
    await resident.say("ehdinkö")
    await eventually(lambda: len(live.rasa.received) == 2)  # the bot is answering ...
    residents = live.app.gateway.residents
    (sid,) = residents.sockets  # ... when the page reloads: the server sees the socket close at once
    residents.disconnected(sid)

    back = Resident(live.url)
    assert await back.connect(secret) == secret
    await back.until(lambda message: message.get("text") == "Botti: ehdinkö")
    await asyncio.sleep(0.5)  # nothing more may follow: the reply is not sent twice
    assert "Botti: ehdinkö" not in [message.get("text") for message in back.drain()]
    await back.close()


async def test_a_shared_computer_resumes_only_within_the_window(
    live: Live, resident: Resident, clock: FakeClock
) -> None:
    await conversation_of(resident, live)
    secret = resident.secret
    await resident.close()

    clock.advance(minutes=29)
    back = Resident(live.url)
    assert await back.connect(secret) == secret  # 29 minutes: the same conversation
    await back.close()

    clock.advance(minutes=31)
    later = Resident(live.url)
    assert await later.connect(secret) != secret  # 31 minutes after the last activity: a new one
    await asyncio.sleep(0.2)
    assert later.drain() == []  # nothing of the earlier resident is shown
    await later.close()


async def test_a_queued_resident_is_never_timed_out(live: Live, resident: Resident, clock: FakeClock) -> None:
    add_agent(live.db, "maija", ["neuvola"])
    conversation_id = await conversation_of(resident, live)
    assert (await live.handoff(conversation_id)).status_code == 201
    secret = resident.secret
    await resident.close()
    clock.advance(hours=2)
    back = Resident(live.url)
    assert await back.connect(secret) == secret
    await back.close()


async def test_ending_the_conversation_leaves_the_queue_and_revokes_the_secret(
    live: Live, resident: Resident
) -> None:
    add_agent(live.db, "maija", ["neuvola"])
    conversation_id = await conversation_of(resident, live)
    assert (await live.handoff(conversation_id)).status_code == 201
    secret = resident.secret
    await resident.sio.emit("session_end")
    await resident.request_session(None)
    assert resident.secret != secret
    await resident.close()

    assert live.conversation(conversation_id).status == "cancelled"
    with live.db.reading() as session:
        assert session.get(ResidentSession, conversation_id).ended_at is not None
    again = Resident(live.url)
    assert await again.connect(secret) != secret  # the old secret resumes nothing
    await again.close()


async def test_a_conversation_the_resident_ends_is_counted_once_with_its_route(
    live: Live, resident: Resident
) -> None:
    def answer(sender: str, text: str) -> list[dict]:
        route = {"type": "omaolo", "target": "https://www.omaolo.fi/"}
        return [{"recipient_id": sender, "text": "Kokeile Omaoloa.", "custom": {"route": route}}]

    live.rasa.answer = answer
    await resident.say("yskä")
    await resident.next()
    for _ in range(2):
        await resident.sio.emit("session_end")
        await resident.request_session(None)  # answered after the end was handled
    with live.db.reading() as session:
        counted = {(row.team_id, row.metric, row.label): row.value for row in session.query(DailyCount)}
    assert counted == {("", "conversations", ""): 1, ("", "route", "omaolo:https://www.omaolo.fi/"): 1}


async def test_knowing_another_residents_conversation_id_gives_no_access(
    live: Live, resident: Resident
) -> None:
    victim_conversation = await conversation_of(resident, live)
    await resident.say("salainen asia")
    await resident.until(lambda message: message.get("text") == "Botti: salainen asia")

    intruder = Resident(live.url)
    intruder_secret = await intruder.connect(victim_conversation)  # the id used as a secret
    assert intruder_secret != resident.secret
    await intruder.say("näytä historia", session_id=victim_conversation)
    reply = await intruder.next()
    assert reply == {"text": "Botti: näytä historia"}  # no history of the victim was sent
    assert live.rasa.received[-1]["sender"] != victim_conversation
    await asyncio.sleep(0.2)
    assert resident.drain() == []  # the victim saw nothing of the intruder
    with live.db.reading() as session:
        victim_texts = session.execute(
            select(SessionMessage.text).where(SessionMessage.conversation_id == victim_conversation)
        ).scalars()
        assert "näytä historia" not in list(victim_texts)
    await intruder.close()


async def test_messages_before_a_session_go_nowhere(live: Live) -> None:
    intruder = Resident(live.url)
    await intruder.sio.connect(
        live.url, socketio_path="socket.io", transports=["websocket"], wait_timeout=CONNECT_TIMEOUT_S
    )
    await intruder.say("hei", session_id="anything")
    await asyncio.sleep(0.3)
    assert live.rasa.received == [] and intruder.drain() == []
    await intruder.sio.disconnect()


async def test_rasa_down_gives_a_finnish_notice_and_emergency_advice(live: Live, resident: Resident) -> None:
    live.rasa.down = True
    await resident.say("hei")
    notice = await resident.next()
    assert notice["text"] == messages.text("gateway.bot_unavailable") and sender_of(notice) == "system"
    await resident.say("isällä on kova rintakipu eikä hän saa henkeä")
    advice = await resident.next()
    assert "112" in advice["text"] and advice["custom"]["route"] == {"type": "emergency", "target": "112"}
    assert (await resident.next())["text"] == messages.text("gateway.bot_unavailable")


async def test_overlong_and_flooding_messages_are_refused_with_a_notice(
    live: Live, resident: Resident
) -> None:
    await resident.say("a" * 2001)
    assert (await resident.next())["text"].startswith("Viestisi on liian pitkä")
    for number in range(25):
        await resident.say(f"viesti {number}")
    received = [await resident.next() for _ in range(25)]
    assert any(message["text"] == messages.text("gateway.too_fast") for message in received)
    relayed = [message["text"] for message in received if message["text"].startswith("Botti:")]
    assert relayed == sorted(relayed, key=lambda text: int(text.split()[-1]))


async def test_queue_positions_are_pushed_to_everyone_waiting(live: Live) -> None:
    add_agent(live.db, "maija", ["neuvola"])
    residents = [Resident(live.url) for _ in range(3)]
    ids = []
    for client in residents:
        await client.connect()
        ids.append(await conversation_of(client, live))
    for number, (client, conversation_id) in enumerate(zip(residents, ids, strict=True), start=1):
        assert (await live.handoff(conversation_id)).status_code == 201
        queued = await client.until(lambda message: "queue" in message.get("custom", {}))
        assert queued["custom"]["queue"]["position"] == number
    agent = Agent(live.url)
    await agent.login("maija")
    assert await agent.accept("neuvola") == ids[0]
    for client, position in ((residents[1], 1), (residents[2], 2)):
        update = await client.until(lambda message: "queue" in message.get("custom", {}))
        assert update["custom"]["queue"]["position"] == position
    for client in residents:
        await client.close()
    await agent.close()


async def test_live_chat_relays_both_ways_in_order_and_the_bot_resumes(
    live: Live, resident: Resident
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    bot_calls = len(live.rasa.received)
    for number in range(10):
        await resident.say(f"asukas {number} 131052-308T")
    for number in range(10):
        message = await agent.next_message()
        assert (message["sender"], message["text"]) == ("resident", f"asukas {number} ******-****")
    for number in range(10):
        await agent.reply(conversation_id, f"hoitaja {number}")
    for number in range(10):
        message = await resident.until(lambda message: sender_of(message) == "agent")
        assert message["text"] == f"hoitaja {number}" and message["custom"]["sender_name"] == "maija"
    assert len(live.rasa.received) == bot_calls  # the bot stayed silent

    assert (await agent.post(f"/desk/conversations/{conversation_id}/end")).status_code == 200
    assert (await resident.next())["text"] == messages.text("gateway.chat_ended")
    assert (await resident.next())["text"] == "Botti: /give_feedback"
    assert live.rasa.received[-1]["message"] == "/give_feedback"
    await resident.say("5")
    assert (await resident.next())["text"] == "Botti: 5"
    with live.db.reading() as session:
        stored = session.execute(
            select(Message.text).where(Message.conversation_id == conversation_id)
        ).scalars()
        assert not any("131052-308T" in text for text in stored)
        actions = set(session.execute(select(AuditEntry.action)).scalars())
    assert {"conversation.accept", "conversation.end"} <= actions
    await agent.close()


async def test_both_sides_writing_at_once_get_everything_in_order(live: Live, resident: Resident) -> None:
    """Resident and agent write at the same time: each side gets the other's messages in order, and
    the conversation stores them in the order they were sent to either side."""
    conversation_id, agent = await live_chat(live, resident)

    async def resident_writes() -> None:
        for number in range(15):
            await resident.say(f"asukas {number}")

    async def agent_writes() -> list[dict]:
        return [await agent.reply(conversation_id, f"hoitaja {number}") for number in range(15)]

    _, copies = await asyncio.gather(resident_writes(), agent_writes())
    to_agent = [await agent.next_message() for _ in range(15)]
    to_resident = [await resident.until(lambda m: sender_of(m) == "agent") for _ in range(15)]
    assert [message["text"] for message in to_agent] == [f"asukas {number}" for number in range(15)]
    assert [message["text"] for message in to_resident] == [f"hoitaja {number}" for number in range(15)]
    with live.db.reading() as session:
        stored = session.execute(
            select(Message.id, Message.sender, Message.text)
            .where(Message.conversation_id == conversation_id, Message.sender != "system")
            .order_by(Message.id)
        ).all()
        seen = session.execute(
            select(SessionMessage.sender, SessionMessage.text)
            .where(SessionMessage.conversation_id == conversation_id, SessionMessage.sender != "system")
            .order_by(SessionMessage.id)
        ).all()
    assert [row.text for row in stored if row.sender == "resident"] == [m["text"] for m in to_agent]
    assert [row.id for row in stored if row.sender == "resident"] == [m["id"] for m in to_agent]
    assert [row.id for row in stored if row.sender == "agent"] == [copy["id"] for copy in copies]
    live_part = [(row.sender, row.text) for row in stored]
    assert [entry for entry in seen if entry[1] != "hei" and entry[1] != "Botti: hei"] == live_part
    await agent.close()


async def test_emergency_while_queued_is_answered_at_once_and_flagged(live: Live, resident: Resident) -> None:
    add_agent(live.db, "maija", ["neuvola"])
    conversation_id = await conversation_of(resident, live)
    await live.handoff(conversation_id)
    await resident.until(lambda message: "queue" in message.get("custom", {}))
    await resident.say("en jaksa enää, haluan kuolla")
    advice = await resident.next()
    assert "09 2525 0111" in advice["text"] and "112" in advice["text"]
    assert live.conversation(conversation_id).emergency_level == "crisis"
    agent = Agent(live.url)
    await agent.login("maija")
    desk = await agent.http.get("/desk")
    assert "Mahdollinen kriisi" in desk.text
    await agent.close()


async def test_transfer_asks_consent_and_the_history_follows(live: Live, resident: Resident) -> None:
    add_agent(live.db, "pekka", ["perhekeskus"])
    conversation_id, agent = await live_chat(live, resident)
    await resident.say("ennen siirtoa")
    await agent.next_message()
    response = await agent.post(f"/desk/conversations/{conversation_id}/transfer", team="perhekeskus")
    assert response.status_code == 200, response.text
    question = await resident.until(lambda message: "quick_replies" in message)
    assert "Perhekeskus" in question["text"]
    assert [reply["payload"] for reply in question["quick_replies"]] == [
        consent.YES_PAYLOAD,
        consent.NO_PAYLOAD,
    ]
    await resident.say(consent.YES_PAYLOAD)
    done = await resident.until(lambda message: message.get("text", "").startswith("Siirsimme"))
    assert sender_of(done) == "system"
    await resident.until(lambda message: message.get("custom", {}).get("queue", {}).get("position") == 1)
    conversation = live.conversation(conversation_id)
    assert (conversation.team_id, conversation.status, conversation.agent_id) == (
        "perhekeskus",
        "queued",
        None,
    )

    colleague = Agent(live.url)
    await colleague.login("pekka")
    assert await colleague.accept("perhekeskus") == conversation_id
    page = await colleague.http.get(f"/desk/conversations/{conversation_id}")
    assert "ennen siirtoa" in page.text and "lapsen rokotukset neuvolassa" in page.text
    assert (await agent.http.get(f"/desk/conversations/{conversation_id}")).status_code == 403
    await colleague.close()
    await agent.close()


async def test_declined_transfer_keeps_the_chat(live: Live, resident: Resident) -> None:
    add_agent(live.db, "pekka", ["perhekeskus"])
    conversation_id, agent = await live_chat(live, resident)
    await agent.post(f"/desk/conversations/{conversation_id}/transfer", team="perhekeskus")
    await resident.until(lambda message: "quick_replies" in message)
    await resident.say("ei")
    assert (await resident.until(lambda message: sender_of(message) == "system"))["text"] == messages.text(
        "gateway.transfer_declined"
    )
    conversation = live.conversation(conversation_id)
    assert (conversation.status, conversation.transfer_to, conversation.team_id) == (
        "active",
        None,
        "neuvola",
    )
    await agent.close()


async def test_agent_who_stays_away_loses_the_chat_to_the_head_of_the_queue(
    live: Live, resident: Resident
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    await agent.sio.disconnect()
    lost = await resident.until(
        lambda message: message.get("text") == messages.text("gateway.agent_lost"), timeout=5
    )
    assert sender_of(lost) == "system"
    queued = await resident.until(lambda message: "queue" in message.get("custom", {}))
    assert queued["custom"]["queue"]["position"] == 1
    assert live.conversation(conversation_id).status == "queued"
    agent.sio = None
    await agent.close()


async def test_agent_who_reconnects_within_the_grace_period_keeps_the_chat(
    live: Live, resident: Resident
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    await agent.sio.disconnect()
    await agent.connect_socket()
    await asyncio.sleep(0.6)
    assert live.conversation(conversation_id).status == "active"
    await agent.close()


async def test_a_restarted_service_continues_the_live_chat_from_the_database(
    db: Database, settings: Settings, clock: FakeClock, rasa: FakeRasa
) -> None:
    app = build(settings, clock, rasa, grace_s=30)
    async with serve(app) as url:
        live = Live(url, rasa, db, app)
        resident = Resident(url)
        await resident.connect()
        conversation_id, agent = await live_chat(live, resident)
        await agent.reply(conversation_id, "ennen katkoa")
        await resident.until(lambda message: sender_of(message) == "agent")
        secret = resident.secret
        await resident.sio.disconnect()
        await agent.sio.disconnect()
        await agent.http.aclose()
    async with serve(build(settings, clock, rasa, grace_s=30)) as url:
        back = Resident(url)
        await back.connect(secret)
        redrawn = await back.until(lambda message: message.get("text") == "ennen katkoa")
        assert redrawn["custom"]["history"] is True
        agent = Agent(url)
        await agent.login("maija")
        await agent.connect_socket()
        calls = len(rasa.received)
        await back.say("jatketaan")
        assert (await agent.next_message())["text"] == "jatketaan"
        await agent.reply(conversation_id, "jatketaan vain")
        assert (await back.until(lambda message: sender_of(message) == "agent"))["text"] == "jatketaan vain"
        assert len(rasa.received) == calls
        await back.close()
        await agent.close()


async def test_a_queued_resident_who_starts_over_leaves_the_queue(live: Live, resident: Resident) -> None:
    add_agent(live.db, "maija", ["neuvola"])
    conversation_id = await conversation_of(resident, live)
    await live.handoff(conversation_id)
    await resident.until(lambda message: "queue" in message.get("custom", {}))
    await resident.request_session(None)
    await eventually(lambda: live.conversation(conversation_id).status == "cancelled")


async def test_the_desk_socket_needs_a_desk_session(live: Live) -> None:
    anonymous = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await anonymous.connect(
            live.url,
            socketio_path="socket.io",
            transports=["websocket"],
            namespaces=["/desk"],
            headers={"Cookie": "opastin_desk=forged"},
        )


async def test_a_misspelt_emergency_in_a_live_chat_gets_the_guidance_and_a_desk_alert(
    live: Live, resident: Resident
) -> None:
    """Every layer of the safety net counts while a person is present: no safety question, numbers at once."""
    add_agent(live.db, "maija", ["neuvola"])
    conversation_id = await conversation_of(resident, live)
    await live.handoff(conversation_id)
    await resident.until(lambda message: "queue" in message.get("custom", {}))
    await resident.say("mies ei hnegitä")
    advice = await resident.next()
    assert "112" in advice["text"]
    assert live.conversation(conversation_id).emergency_level == "112"
