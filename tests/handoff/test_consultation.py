"""Consultation between professionals over real sockets (handoff/consultations.py,
handoff/desk/consultation.py): the holder invites a colleague of another team who is present; the
consultant opens that one conversation read-only (not their team's queue), both write in the
private thread in real time, nothing reaches the resident or the bot, every step is audited, and
the access ends when the consultation or the chat ends. The holder may take the consultant into
the resident's chat as a visible participant: the resident is told, the participant writes to the
resident and sees the chat's messages live, and leaves again."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from handoff.db import Database
from handoff.gateway import consent
from handoff.models import AuditEntry
from opastin import messages
from tests.handoff.conftest import FakeClock, add_agent
from tests.handoff.live_support import Agent, Live, Resident, live_chat, sender_of

THREAD_TEXT = "Onko tämä sinun mielestäsi kiireellinen? Asukkaalla 131052-308T"


class Consultations:
    """The ``consultation`` events one desk socket receives."""

    def __init__(self, agent: Agent) -> None:
        assert agent.sio is not None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        agent.sio.on("consultation", self.events.put_nowait, namespace="/desk")

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout)


async def consultant_of(live: Live, username: str = "psyk", team: str = "mielenterveys_paihde") -> Agent:
    """A colleague of another team, logged in, present, with the desk socket open."""
    add_agent(live.db, username, [team])
    colleague = Agent(live.url)
    await colleague.login(username)
    await colleague.connect_socket()
    return colleague


def audited(db: Database) -> list[tuple[str, str]]:
    with db.reading() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.action.like("consultation.%"))
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_consultant_reads_the_chat_and_writes_in_the_private_thread(
    live: Live, resident: Resident
) -> None:
    conversation_id, holder = await live_chat(live, resident)
    page = f"/desk/conversations/{conversation_id}"
    colleague = await consultant_of(live)
    at_holder, at_colleague = Consultations(holder), Consultations(colleague)
    assert (await colleague.http.get(page)).status_code == 403  # not their team's conversation

    held = (await holder.http.get(page)).text
    assert "Pyydä kollegaa konsultoimaan" in held and '<option value="psyk">' in held
    assert (await holder.post(f"{page}/konsultaatio", username="psyk")).status_code == 200
    invited = await at_colleague.next()
    assert invited == {"conversation_id": conversation_id, "state": "invited", "by": "maija"}

    seen = await colleague.http.get(page)
    assert seen.status_code == 200 and "Sinua on pyydetty konsultoimaan" in seen.text
    assert 'id="reply"' not in seen.text and "Sisäiset muistiinpanot" not in seen.text  # read-only
    assert "Konsultaatio: Neuvola" in (await colleague.http.get("/desk")).text  # in their side list
    assert (await colleague.post("/desk/accept", team="neuvola")).status_code == 403  # no queue access
    assert (await colleague.post(f"{page}/messages", text="Hei")).status_code == 403  # not to the resident

    written = await colleague.post(f"{page}/konsultaatio/viestit", text=THREAD_TEXT)
    assert written.status_code == 200
    message = written.json()["message"]
    assert message["text"] == "Onko tämä sinun mielestäsi kiireellinen? Asukkaalla ******-****"
    for events in (at_holder, at_colleague):
        assert (await events.next())["message"] == message  # both desks at once
    answer = await holder.post(f"{page}/konsultaatio/viestit", text="Kiitos, soitan hänelle.")
    assert answer.status_code == 200
    assert "Kiitos, soitan hänelle." in (await colleague.http.get(page)).text

    # Nothing of the thread reached the resident or the bot.
    await asyncio.sleep(0.2)
    assert all("kiireellinen" not in str(message) for message in resident.drain())
    assert all("kiireellinen" not in str(body) for body in live.rasa.received)

    # The holder ends it: the colleague's access ends at once, and their desk hears it.
    assert (await holder.post(f"{page}/konsultaatio/lopeta", username="psyk")).status_code == 200
    ended = await at_colleague.next()
    while "state" not in ended:  # the holder's thanks came first
        ended = await at_colleague.next()
    assert ended == {"conversation_id": conversation_id, "state": "ended", "name": "psyk"}
    assert (await colleague.http.get(page)).status_code == 403
    assert (await colleague.post(f"{page}/konsultaatio/viestit", text="vielä")).status_code == 403
    assert audited(live.db) == [
        ("maija", "consultation.invite"),
        ("psyk", "consultation.message"),
        ("maija", "consultation.message"),
        ("maija", "consultation.end"),
    ]
    await colleague.close()
    await holder.close()


async def test_only_the_holder_invites_and_only_present_colleagues(live: Live, resident: Resident) -> None:
    conversation_id, holder = await live_chat(live, resident)
    page = f"/desk/conversations/{conversation_id}"
    add_agent(live.db, "poissa", ["terveysneuvo"], present=False)
    add_agent(live.db, "liisa", ["neuvola"])
    teammate = Agent(live.url)
    await teammate.login("liisa")
    assert (await holder.post(f"{page}/konsultaatio", username="poissa")).status_code == 409  # not present
    assert (await holder.post(f"{page}/konsultaatio", username="maija")).status_code == 409  # oneself
    assert (await teammate.post(f"{page}/konsultaatio", username="maija")).status_code == 403  # not holding
    assert (await holder.post(f"{page}/konsultaatio", username="liisa")).status_code == 200
    assert (await holder.post(f"{page}/konsultaatio", username="liisa")).status_code == 409  # already in
    assert (await teammate.post(f"{page}/konsultaatio/lopeta")).status_code == 200  # the consultant leaves
    assert audited(live.db) == [("maija", "consultation.invite"), ("liisa", "consultation.end")]
    await teammate.close()
    await holder.close()


async def test_the_access_ends_with_the_chat(live: Live, resident: Resident) -> None:
    conversation_id, holder = await live_chat(live, resident)
    page = f"/desk/conversations/{conversation_id}"
    colleague = await consultant_of(live)
    assert (await holder.post(f"{page}/konsultaatio", username="psyk")).status_code == 200
    assert (await colleague.http.get(page)).status_code == 200
    assert (await holder.post(f"{page}/end")).status_code == 200
    assert (await colleague.http.get(page)).status_code == 403
    assert "Konsultaatio: Neuvola" not in (await colleague.http.get("/desk")).text
    await colleague.close()
    await holder.close()


async def test_a_consultant_joins_the_residents_chat_and_leaves_it_again(
    live: Live, resident: Resident
) -> None:
    conversation_id, holder = await live_chat(live, resident)
    page = f"/desk/conversations/{conversation_id}"
    colleague = await consultant_of(live)
    at_colleague = Consultations(colleague)
    assert (await holder.post(f"{page}/konsultaatio", username="psyk")).status_code == 200
    await at_colleague.next()  # invited
    assert (await colleague.post(f"{page}/konsultaatio/mukaan", username="psyk")).status_code == 403
    assert "Ota mukaan keskusteluun: psyk" in (await holder.http.get(page)).text

    assert (await holder.post(f"{page}/konsultaatio/mukaan", username="psyk")).status_code == 200
    joined = messages.text("gateway.participant_joined", name="psyk")
    told = await resident.until(lambda message: message.get("text") == joined)
    assert sender_of(told) == "system"
    assert (await at_colleague.next()) == {
        "conversation_id": conversation_id,
        "state": "joined",
        "name": "psyk",
    }
    assert (await holder.post(f"{page}/konsultaatio/mukaan", username="psyk")).status_code == 409
    seen = (await colleague.http.get(page)).text
    assert 'id="reply"' in seen and "Poistu keskustelusta" in seen  # now writes to the resident

    # The participant writes to the resident under their own name; the holder sees it too.
    written = await colleague.reply(conversation_id, "Hei, olen psykiatrinen sairaanhoitaja.")
    assert written["author"] == "psyk"
    heard = await resident.until(lambda message: "psykiatrinen" in message.get("text", ""))
    assert sender_of(heard) == "agent" and heard["custom"]["sender_name"] == "psyk"
    assert (await holder.next_message("agent"))["text"] == "Hei, olen psykiatrinen sairaanhoitaja."
    # The resident's answer reaches both desks at once.
    await resident.say("Kiitos, hyvä että olet mukana")
    for desk in (holder, colleague):
        assert (await desk.next_message("resident"))["text"] == "Kiitos, hyvä että olet mukana"

    # The participant leaves the chat: the resident is told, the consultation goes on.
    assert (await colleague.post(f"{page}/konsultaatio/poistu")).status_code == 200
    left = messages.text("gateway.participant_left", name="psyk")
    await resident.until(lambda message: message.get("text") == left)
    assert (await colleague.post(f"{page}/messages", text="vielä")).status_code == 403
    seen = (await colleague.http.get(page)).text
    assert 'id="reply"' not in seen and "Konsultaatioketju" in seen
    assert audited(live.db) == [
        ("maija", "consultation.invite"),
        ("maija", "consultation.join_chat"),
        ("psyk", "consultation.leave_chat"),
    ]
    await colleague.close()
    await holder.close()


async def test_ending_the_consultation_of_a_participant_tells_the_resident(
    live: Live, resident: Resident
) -> None:
    conversation_id, holder = await live_chat(live, resident)
    page = f"/desk/conversations/{conversation_id}"
    colleague = await consultant_of(live)
    assert (await holder.post(f"{page}/konsultaatio", username="psyk")).status_code == 200
    assert (await holder.post(f"{page}/konsultaatio/mukaan", username="psyk")).status_code == 200
    assert (await holder.post(f"{page}/konsultaatio/lopeta", username="psyk")).status_code == 200
    left = messages.text("gateway.participant_left", name="psyk")
    await resident.until(lambda message: message.get("text") == left)
    assert (await colleague.http.get(page)).status_code == 403
    await colleague.close()
    await holder.close()


async def test_after_a_transfer_the_thread_follows_and_the_consultants_stay_behind(
    live: Live, resident: Resident, clock: FakeClock
) -> None:
    add_agent(live.db, "pekka", ["perhekeskus"])
    conversation_id, holder = await live_chat(live, resident)
    page = f"/desk/conversations/{conversation_id}"
    colleague = await consultant_of(live)
    assert (await holder.post(f"{page}/konsultaatio", username="psyk")).status_code == 200
    assert (await colleague.post(f"{page}/konsultaatio/viestit", text="Perhekeskus sopii")).status_code == 200
    assert (await holder.post(f"{page}/transfer", team="perhekeskus")).status_code == 200
    await resident.until(lambda message: "quick_replies" in message)
    await resident.say(consent.YES_PAYLOAD)
    await resident.until(lambda message: message.get("text", "").startswith("Siirsimme"))
    assert (await colleague.http.get(page)).status_code == 403  # the chat is no longer live

    receiver = Agent(live.url)
    await receiver.login("pekka")
    clock.advance(minutes=3)  # the resident waited in the new team's queue
    assert await receiver.accept("perhekeskus") == conversation_id
    assert (await colleague.http.get(page)).status_code == 403  # the new holding has no consultants
    seen = (await receiver.http.get(page)).text
    assert "Perhekeskus sopii" in seen  # the thread follows the conversation
    assert '<option value="psyk">' in seen  # psyk may be invited again, not already in
    await receiver.close()
    await colleague.close()
    await holder.close()
