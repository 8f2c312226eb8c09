"""A professional's working day in one browser scenario (Debian Chromium driven by Playwright).

Two professionals of neuvola ("hoitaja", "toinen"), one of mental health services ("psyk") and
three residents at once, against the handoff service alone (every team open). In place of Rasa a
small server of this module records every request body the service sends to the bot's REST
webhook and answers ``[]``: what Rasa receives is what its tracker stores.

The day, step by step: hoitaja's browser has the notification permission granted and the desk
offers no "Salli ilmoitukset" (toinen's, not granted, does); three residents queue; hoitaja
takes two, toinen the third (toinen sends a ready answer by its button, edited). Typing indicators
both ways between hoitaja and a resident, never the text before it is sent (pages and websocket
frames); a ready answer by Alt+1, edited and sent, as the resident sees it; an internal note that
the resident's page never shows and the bot never receives. A message in the chat not on screen
raises its unread count in the side list in place, puts "(1)" in the hidden tab's title and makes a
browser notification (permission granted). A half-written reply survives switching chats and back.
A consultation: a private thread with psyk, then psyk as a visible participant whom the resident
sees join and write. The chat ends (the bot is told, and still has no note). A contact request left
through the service API shows its promised reply date in the team's inbox. axe-core finds no WCAG
2.1 AA violations on any desk page visited, nothing is requested from another host. Screenshots:
``test-results/desk-day-<step>.png``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from opastin.processes import free_port
from tests.e2e.browsers import RESULTS, frame_axe_violations, logged_in_desk, new_page, service_alone

pytestmark = pytest.mark.e2e

TOKEN = "desk-day-token-0123456789"
RESIDENT_DRAFT = "Milloin seuraava rokotus"
AGENT_TYPED = "Hetki, katson kalenteria."
CANNED_FIRST = "Hei, olen neuvolan terveydenhoitaja."
CANNED_TAIL = "Kerro vielä, minkä ikäisestä lapsesta on kyse."
EDITED_TAIL = "Rokotus annetaan seuraavalla neuvolakäynnillä."
NOTE = "Sisäinen muistio-7731: äidillä univaikeuksia, soitto huomenna"
NOTE_MARK = "muistio-7731"  # ASCII, found in a body however its JSON escapes the rest
ELSEWHERE = "Sattuuko rokotus paljon?"
DRAFT_A = "Luonnos A: rokotus ei yleensä"
DRAFT_B = "Luonnos B: soitan teille vielä"
QUESTION = "Äiti kertoo unettomuudesta ja ahdistuksesta. Ohjaanko teille?"
ANSWER = "Ohjaa vain; voin myös tulla mukaan keskusteluun."
FROM_PSYK = "Hei, olen psykiatrinen sairaanhoitaja. Miten olet nukkunut viime viikolla?"
FROM_RESIDENT = "Huonosti, heräilen monta kertaa yössä."
TOINEN_EDITED = "Hei, olen neuvolan terveydenhoitaja. Kerro, mitä kuuluu."


class RecordingBot:
    """Rasa's REST webhook on loopback: keeps every request body and answers ``[]`` (no reply)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._arrived = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with recorder._arrived:
                    recorder.bodies.append(body.decode("utf-8", "replace"))
                    recorder._arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"[]")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def messages(self) -> list[dict[str, Any]]:
        """The bodies received so far, as JSON (what the service sends is JSON)."""
        with self._arrived:
            return [json.loads(body) for body in self.bodies]

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 15) -> dict[str, Any]:
        """The first received body that is ``wanted``, waiting for it up to ``timeout`` seconds."""
        with self._arrived:
            found: list[dict[str, Any]] = []

            def arrived() -> bool:
                found[:] = [message for body in self.bodies if wanted(message := json.loads(body))]
                return bool(found)

            assert self._arrived.wait_for(arrived, timeout), f"the bot never received it: {self.bodies}"
            return found[0]

    def received(self, text: str) -> bool:
        """Whether ``text`` is in any body received, raw or with its JSON decoded."""
        with self._arrived:
            bodies = list(self.bodies)
        return any(
            text in body or text in json.dumps(json.loads(body), ensure_ascii=False) for body in bodies
        )


@pytest.fixture(scope="module")
def bot() -> Iterator[RecordingBot]:
    """The recording stand-in for Rasa, serving in a thread of its own."""
    recording = RecordingBot()
    thread = threading.Thread(target=recording.server.serve_forever, daemon=True)
    thread.start()
    yield recording
    recording.server.shutdown()
    recording.server.server_close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, bot: RecordingBot) -> Iterator[dict[str, str]]:
    """The service alone, every team open: "hoitaja" and "toinen" in neuvola, "psyk" in mental
    health services; its bot is the recording server."""
    tmp = tmp_path_factory.mktemp("desk-day")
    agents = {"hoitaja": "neuvola", "toinen": "neuvola", "psyk": "mielenterveys_paihde"}
    with service_alone(tmp, agents, HANDOFF_API_TOKEN=TOKEN, RASA_URL=bot.url) as running:
        yield running


def record_frames(page) -> list[str]:
    """Every websocket frame the page sends or receives from now on, as text."""
    frames: list[str] = []

    def watch(socket) -> None:
        for event in ("framesent", "framereceived"):
            socket.on(event, lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    return frames


def queued_resident(browser, service: dict[str, str], bot: RecordingBot, summary: str) -> tuple:
    """A new resident's page whose conversation waits in neuvola's queue, queued through the service
    API as the action server queues it: (context, page, outside requests, frames, conversation id).

    The conversation is the one whose greeting ("/greet", sent by the page) the bot received.
    """
    context, page, outside = new_page(browser)
    frames = record_frames(page)
    known = {message.get("sender") for message in bot.messages()}
    page.goto(service["url"] + "/")
    greeting = bot.wait_for(
        lambda message: message.get("message") == "/greet" and message["sender"] not in known
    )
    body = {
        "conversation_id": greeting["sender"],
        "team": "neuvola",
        "summary": summary,
        "transcript": [{"sender": "resident", "text": summary}],
    }
    response = httpx.post(
        service["url"] + "/api/service/handoffs", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 201, response.text
    page.locator(".message--queue").first.wait_for()
    return context, page, outside, frames, greeting["sender"]


def desk_live(page) -> None:
    """Wait until the page's desk.js is connected to the /desk socket."""
    page.locator("body[data-desk-live]").wait_for(state="attached")


def open_chat(page, conversation_id: str) -> None:
    """Open the chat ``conversation_id`` from the side list beside the open conversation."""
    page.locator(f'.one-screen__side a[href="/desk/conversations/{conversation_id}"]').click()
    page.wait_for_url(f"**/desk/conversations/{conversation_id}")
    page.locator(f'[data-conversation="{conversation_id}"]').wait_for()
    desk_live(page)


def shot(page, step: str) -> None:
    page.screenshot(path=str(RESULTS / f"desk-day-{step}.png"), full_page=True)


def page_text(page) -> str:
    return page.locator("body").inner_text()


def test_a_professionals_day_with_two_colleagues_and_three_residents(browser, service, bot) -> None:
    url = service["url"]
    axe: dict[str, list[str]] = {}  # every desk page visited → its axe-core findings

    # -- hoitaja's browser may show notifications; the desk does not ask for them again -------------
    hoitaja_context, hoitaja, hoitaja_outside = new_page(browser)
    hoitaja_context.grant_permissions(["notifications"], origin=url)
    hoitaja_frames = record_frames(hoitaja)
    hoitaja.goto(url + "/desk")
    hoitaja.get_by_label("Käyttäjätunnus").wait_for()
    axe["login"] = frame_axe_violations(hoitaja.main_frame)
    hoitaja.get_by_label("Käyttäjätunnus").fill("hoitaja")
    hoitaja.get_by_label("Salasana").fill(service["hoitaja"])
    hoitaja.get_by_role("button", name="Kirjaudu").click()
    hoitaja.get_by_role("button", name=re.compile("merkitse paikallaolevaksi")).first.click()
    hoitaja.get_by_role("button", name=re.compile("merkitse poissaolevaksi")).first.wait_for()
    desk_live(hoitaja)
    assert hoitaja.evaluate("Notification.permission") == "granted"
    expect(hoitaja.get_by_role("button", name="Salli ilmoitukset")).to_be_hidden()  # nothing to ask
    toinen_context, toinen, toinen_outside = logged_in_desk(browser, service, "toinen")
    assert toinen.evaluate("Notification.permission") == "default"
    expect(toinen.get_by_role("button", name="Salli ilmoitukset")).to_be_visible()  # not granted: offered
    psyk_context, psyk, psyk_outside = logged_in_desk(browser, service, "psyk")
    desk_live(toinen)
    desk_live(psyk)

    # -- three residents queue in neuvola; both desks of neuvola see them live ---------------------
    a_context, resident_a, a_outside, a_frames, a_id = queued_resident(
        browser, service, bot, "Kysyy lapsen rokotuksista."
    )
    b_context, resident_b, b_outside, b_frames, b_id = queued_resident(
        browser, service, bot, "Kysyy väsymyksestä vauvan synnyttyä."
    )
    c_context, resident_c, c_outside, c_frames, c_id = queued_resident(
        browser, service, bot, "Kysyy neuvola-ajan siirtämisestä."
    )
    for desk in (hoitaja, toinen):
        desk.locator('[data-queue-length="3"]').wait_for()
    shot(hoitaja, "queue")
    axe["hoitaja /desk"] = frame_axe_violations(hoitaja.main_frame)
    axe["toinen /desk"] = frame_axe_violations(toinen.main_frame)
    axe["psyk /desk"] = frame_axe_violations(psyk.main_frame)

    # -- hoitaja takes two, toinen the third: two professionals, three residents at once -----------
    hoitaja.get_by_role("button", name="Ota seuraava").first.click()
    hoitaja.wait_for_url(f"**/desk/conversations/{a_id}")
    side = hoitaja.get_by_role("navigation", name="Omat keskustelut ja jonot")
    side.get_by_role("button", name=re.compile("^Ota seuraava")).click()
    hoitaja.wait_for_url(f"**/desk/conversations/{b_id}")
    desk_live(hoitaja)
    toinen.get_by_role("button", name="Ota seuraava").first.click()
    toinen.wait_for_url(f"**/desk/conversations/{c_id}")
    desk_live(toinen)
    resident_a.get_by_text("hoitaja liittyi keskusteluun.").wait_for()
    resident_b.get_by_text("hoitaja liittyi keskusteluun.").wait_for()
    resident_c.get_by_text("toinen liittyi keskusteluun.").wait_for()
    expect(side.locator("[data-chat]")).to_have_count(2)
    assert side.locator(f'[data-chat="{c_id}"]').count() == 0
    toinen_side = toinen.get_by_role("navigation", name="Omat keskustelut ja jonot")
    expect(toinen_side.locator("[data-chat]")).to_have_count(1)

    # toinen greets with a ready answer's button, edits it and sends it.
    toinen_reply = toinen.get_by_label("Vastaus asukkaalle")
    toinen.get_by_role("button", name=re.compile("Tervehdys$")).click()
    assert toinen_reply.input_value().startswith(CANNED_FIRST)
    toinen_reply.fill(TOINEN_EDITED)
    toinen.get_by_role("button", name="Lähetä").click()
    resident_c.locator(".message--agent").filter(has_text=TOINEN_EDITED).wait_for()
    resident_c.get_by_label("Kirjoita viestisi").fill("Hyvää, kiitos. Haluan siirtää aikaa.")
    resident_c.get_by_label("Kirjoita viestisi").press("Enter")
    toinen.locator("[data-log]").get_by_text("Haluan siirtää aikaa.").wait_for()
    shot(toinen, "toinen")
    axe["toinen conversation C"] = frame_axe_violations(toinen.main_frame)

    # -- typing both ways between hoitaja and resident B, never the text before it is sent -------
    desk_typing = hoitaja.locator("[data-typing]")
    field_b = resident_b.get_by_label("Kirjoita viestisi")
    field_b.press_sequentially(RESIDENT_DRAFT, delay=30)
    desk_typing.filter(has_text="Asukas kirjoittaa…").wait_for()
    side.locator(f'[data-chat="{b_id}"] .tag--typing').filter(has_text="Asukas kirjoittaa…").wait_for()
    assert RESIDENT_DRAFT not in page_text(hoitaja)
    assert not any("seuraava rokotus" in frame for frame in b_frames + hoitaja_frames)
    shot(hoitaja, "typing-desk")
    field_b.press("Enter")
    hoitaja.locator("[data-log]").get_by_text(RESIDENT_DRAFT).wait_for()
    expect(desk_typing).to_have_text("")

    reply = hoitaja.get_by_label("Vastaus asukkaalle")
    resident_typing = resident_b.locator("[data-chat-typing]")
    reply.press_sequentially(AGENT_TYPED, delay=30)
    resident_typing.filter(has_text="Ammattilainen kirjoittaa…").wait_for()
    assert "kalenteria" not in page_text(resident_b)
    assert not any("kalenteria" in frame for frame in b_frames + hoitaja_frames)
    shot(resident_b, "typing-resident")

    # -- a ready answer by Alt+1 after the typed words, edited, sent; the resident sees the edit ----
    hoitaja.keyboard.press("Alt+1")
    assert reply.input_value().startswith(f"{AGENT_TYPED} {CANNED_FIRST}")
    assert reply.input_value().endswith(CANNED_TAIL)
    reply.fill(reply.input_value().replace(CANNED_TAIL, EDITED_TAIL))
    sent = reply.input_value()
    hoitaja.get_by_role("button", name="Lähetä").click()
    resident_b.locator(".message--agent").filter(has_text=sent).wait_for()
    assert CANNED_TAIL not in page_text(resident_b)
    expect(resident_typing).to_have_text("")
    shot(resident_b, "canned-resident")

    # -- an internal note: saved in place; the resident never sees it --------------------------
    hoitaja.get_by_label("Uusi muistiinpano").fill(NOTE)
    hoitaja.get_by_role("button", name="Tallenna muistiinpano").click()
    hoitaja.locator("[data-notes]").get_by_text(NOTE).wait_for()
    hoitaja.get_by_text("Muistiinpano on tallennettu. Asukas ei näe sitä.").wait_for()
    resident_b.get_by_label("Kirjoita viestisi").fill("Kiitos vastauksesta.")
    resident_b.get_by_label("Kirjoita viestisi").press("Enter")
    hoitaja.locator("[data-log]").get_by_text("Kiitos vastauksesta.").wait_for()  # the chat goes on
    assert NOTE not in page_text(resident_b) and not any(NOTE_MARK in frame for frame in b_frames)
    shot(hoitaja, "note")

    # -- the chat not on screen: its unread count in the side list in place, the title's marker --
    hoitaja.evaluate("window.stillHere = 'sama sivu'")
    hoitaja.evaluate(  # the tab in the background; the browser's own notifications recorded
        """() => {
          const Real = window.Notification;
          window.shownNotices = [];
          window.Notification = new Proxy(Real, {
            construct(target, args) { window.shownNotices.push(args[0]); return new target(...args); }
          });
          Object.defineProperty(document, 'hidden', {value: true, configurable: true});
        }"""
    )
    title = hoitaja.title()
    resident_a.get_by_label("Kirjoita viestisi").fill(ELSEWHERE)
    resident_a.get_by_label("Kirjoita viestisi").press("Enter")
    side.locator(f'[data-chat="{a_id}"] [data-unread]').filter(has_text="1 uusi viesti").wait_for()
    expect(hoitaja).to_have_title(f"(1) {title}")
    assert hoitaja.evaluate("window.shownNotices") == ["Uusi viesti asukkaalta Opastimen työpöydällä"]
    assert hoitaja.evaluate("window.stillHere") == "sama sivu"  # no reload, no navigation
    assert ELSEWHERE not in page_text(hoitaja)  # never the message's text, here or in the title
    assert side.locator(f'[data-chat="{b_id}"] [data-unread]').is_hidden()
    shot(hoitaja, "unread")
    hoitaja.evaluate(
        "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    expect(hoitaja).to_have_title(title)
    axe["hoitaja conversation B"] = frame_axe_violations(hoitaja.main_frame)

    # -- a half-written reply in B survives switching to A and back ----------------------------
    reply.fill(DRAFT_B)
    open_chat(hoitaja, a_id)
    hoitaja.locator("[data-log]").get_by_text(ELSEWHERE).wait_for()
    assert side.locator(f'[data-chat="{a_id}"] [data-unread]').is_hidden()  # read now
    assert a_id not in (hoitaja.evaluate("sessionStorage.getItem('opastin-desk-unread')") or "")
    assert reply.input_value() == ""
    reply.fill(DRAFT_A)
    axe["hoitaja conversation A"] = frame_axe_violations(hoitaja.main_frame)
    open_chat(hoitaja, b_id)
    assert reply.input_value() == DRAFT_B
    open_chat(hoitaja, a_id)
    assert reply.input_value() == DRAFT_A
    open_chat(hoitaja, b_id)
    assert reply.input_value() == DRAFT_B
    shot(hoitaja, "draft")
    assert DRAFT_B not in page_text(resident_b) and DRAFT_A not in page_text(resident_a)

    # -- consultation: a private thread with psyk, then psyk in the chat as a visible participant -
    hoitaja.get_by_label("Pyydä kollegaa konsultoimaan").select_option("psyk")
    hoitaja.get_by_role("button", name="Pyydä konsultaatiota").click()
    psyk.get_by_text("hoitaja pyytää sinua konsultoimaan keskustelussa.").wait_for()
    psyk.get_by_role("link", name="Konsultaatio: Neuvola").click()
    psyk.get_by_text("Sinua on pyydetty konsultoimaan").wait_for()
    desk_live(psyk)
    assert psyk.get_by_label("Vastaus asukkaalle").count() == 0  # read-only for the resident's chat
    assert NOTE not in page_text(psyk)  # the notes stay with the team's professionals
    hoitaja.get_by_label("Viesti konsultaatioketjuun").fill(QUESTION)
    hoitaja.get_by_role("button", name="Lisää ketjuun").click()
    psyk.locator("[data-thread]").get_by_text(QUESTION).wait_for()
    psyk.get_by_label("Viesti konsultaatioketjuun").fill(ANSWER)
    psyk.get_by_role("button", name="Lisää ketjuun").click()
    hoitaja.locator("[data-thread]").get_by_text(ANSWER).wait_for()
    shot(psyk, "consultation-thread")
    axe["psyk consultation B"] = frame_axe_violations(psyk.main_frame)

    hoitaja.get_by_role("button", name="Ota mukaan keskusteluun: psyk").click()
    resident_b.get_by_text("psyk liittyy keskusteluun auttamaan asiassasi.").wait_for()
    psyk.get_by_text("psyk on nyt mukana keskustelussa asukkaan kanssa.").wait_for()
    psyk.get_by_label("Vastaus asukkaalle").fill(FROM_PSYK)  # in place, no reload
    psyk.locator("[data-reply] button[type=submit]").click()
    from_psyk = resident_b.locator(".message--agent").filter(has_text=FROM_PSYK)
    from_psyk.wait_for()
    assert from_psyk.locator(".message__who").inner_text() == "psyk:"
    hoitaja.locator("[data-log]").get_by_text(FROM_PSYK).wait_for()
    resident_b.get_by_label("Kirjoita viestisi").fill(FROM_RESIDENT)
    resident_b.get_by_label("Kirjoita viestisi").press("Enter")
    psyk.locator("[data-log]").get_by_text(FROM_RESIDENT).wait_for()
    hoitaja.locator("[data-log]").get_by_text(FROM_RESIDENT).wait_for()
    assert reply.input_value() == DRAFT_B  # the holder's draft through all the in-place updates
    shot(psyk, "consultation-participant")
    shot(resident_b, "consultation-resident")
    resident_text = page_text(resident_b)
    assert QUESTION not in resident_text and ANSWER not in resident_text and NOTE not in resident_text

    # -- hoitaja ends B: the bot is told (and asks for feedback); it never got the note ------------
    hoitaja.get_by_role("button", name="Lopeta keskustelu").click()
    resident_b.locator(".message--system").filter(has_text="Keskustelu päättyi.").wait_for()
    ended = bot.wait_for(lambda message: message["sender"] == b_id and message["message"] == "/give_feedback")
    assert ended["metadata"]["live_chat"] == {"outcome": "ended"}
    for secret in (NOTE, NOTE_MARK, QUESTION, ANSWER, DRAFT_A, DRAFT_B):
        assert not bot.received(secret), secret
    assert {message["sender"] for message in bot.messages()} == {a_id, b_id, c_id}  # the greetings
    resident_text = page_text(resident_b)
    assert NOTE not in resident_text and NOTE_MARK not in resident_text
    assert not any(NOTE_MARK in frame for frame in a_frames + b_frames + c_frames)

    # -- a contact request left through the service API: its reply date in the team's inbox ------
    contact = {
        "team": "neuvola",
        "topic": "Rokotusaika",
        "message": "Toivon soittoa rokotusajasta.",
        "contact_method": "phone",
        "contact_value": "040 123 4567",
        "consent": True,
    }
    response = httpx.post(
        url + "/api/service/contact-requests", json=contact, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    due = date.fromisoformat(receipt["reply_by"])
    hoitaja.get_by_role("link", name="← Takaisin työpöydälle").click()
    hoitaja.get_by_role("link", name="Yhteydenottopyynnöt (1 avoinna)").click()
    hoitaja.get_by_role("heading", name="Yhteydenottopyynnöt: Neuvola").wait_for()
    row = hoitaja.locator("li.row").filter(has_text=receipt["reference"])
    row.get_by_text(
        f"Vastattava viimeistään {due.day}.{due.month}.{due.year} (luvattu asukkaalle)"
    ).wait_for()
    shot(hoitaja, "inbox")
    axe["hoitaja inbox"] = frame_axe_violations(hoitaja.main_frame)

    assert {page: found for page, found in axe.items() if found} == {}
    for requests in (hoitaja_outside, toinen_outside, psyk_outside, a_outside, b_outside, c_outside):
        assert requests.blocked == []
    for context in (hoitaja_context, toinen_context, psyk_context, a_context, b_context, c_context):
        context.close()
