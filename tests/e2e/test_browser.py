"""The resident page and the agent desk in a real browser (Debian Chromium driven by Playwright).

Starts the real processes (Rasa server, action server, handoff service), then
checks what people see: the resident chats by keyboard alone, an agent in a
second browser context takes the chat over and both see each other's
messages; axe-core finds no WCAG 2.1 AA violations; nothing is requested from
another host. Screenshots go to ``test-results/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from devtools.stack import Rasa
from opastin.hours import HELSINKI
from tests.e2e.browsers import RESULTS, axe_violations, bot_says, new_page
from tests.e2e.stack import query_one, running_stack, wait_for_row

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(rasa: Rasa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Rasa, actions and the handoff service (every team open), with one neuvola agent, "hoitaja"."""
    with running_stack(rasa, tmp_path_factory.mktemp("browser"), {"hoitaja": "neuvola"}) as running:
        yield running


# Replaces the browser's Notification with one that records the titles (permission granted).
NOTIFICATIONS_RECORDED = """() => {
  window.recordedNotices = [];
  window.Notification = function (title) { window.recordedNotices.push(title); };
  window.Notification.permission = "granted";
  window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
}"""


@pytest.mark.parametrize(("width", "name"), [(1280, "resident-desktop"), (360, "resident-360px")])
def test_resident_page_is_accessible_self_contained_and_fits(browser, stack, width: int, name: str) -> None:
    context, page, outside = new_page(browser, width=width, bypass_csp=True)
    page.goto(stack["url"] + "/")
    bot_says(page, "Olen Opastin")  # the bot greets first
    page.locator("[data-team-status] li").first.wait_for()
    assert page.get_by_text("Hätätilanteessa soita").is_visible()
    assert page.get_by_text("Älä kirjoita henkilötunnustasi").is_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways at {width} px ({scroll_width} px wide)"
    page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)
    assert axe_violations(page) == []
    assert outside.blocked == []
    context.close()


def test_whole_chat_works_by_keyboard_alone(browser, stack) -> None:
    context, page, outside = new_page(browser)
    page.goto(stack["url"] + "/")
    bot_says(page, "Olen Opastin")
    for _ in range(15):  # from the top of the page to the message box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "chat-input":
            break
    assert page.evaluate("document.activeElement.id") == "chat-input"
    page.keyboard.type("haluan puhua ihmisen kanssa")
    page.keyboard.press("Enter")
    choice = page.locator(".chat-log button.choice").first
    choice.wait_for()
    page.keyboard.press("Shift+Tab")  # the choices come right before the message box
    for _ in range(10):
        if page.evaluate("document.activeElement.classList.contains('choice')"):
            break
        page.keyboard.press("Shift+Tab")
    chosen = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.locator(".chat-log .message--user").filter(has_text=chosen).wait_for()
    assert page.get_by_role("log", name="Keskustelu").get_attribute("aria-live") == "polite"
    assert outside.blocked == []
    context.close()


def test_a_resident_on_a_shared_computer_ends_the_conversation_for_good(browser, stack) -> None:
    context, page, outside = new_page(browser)
    page.goto(stack["url"] + "/")
    bot_says(page, "Olen Opastin")
    _say(page, "hetuni on 131052-308T ja tarvitsen hammaslääkärin")
    page.locator(".chat-log").get_by_text("poistin sen").wait_for()
    reference = page.locator("[data-chat-reference]")
    reference.filter(has_text=re.compile(r"KS-[A-Z2-9]{4}-[A-Z2-9]{4}")).wait_for()
    code = reference.inner_text().split(": ")[1]
    sql = "SELECT ended_at FROM resident_sessions WHERE reference = :reference"
    assert query_one(stack["database"], sql, reference=code) == (None,)
    stored = wait_for_row(  # the notice is sent before the message is stored
        stack["database"],
        "SELECT text FROM session_messages WHERE text LIKE '%hammas%' AND sender = 'resident'",
    )
    assert stored == ("hetuni on ******-**** ja tarvitsen hammaslääkärin",)

    page.get_by_role("button", name="Lopeta keskustelu").click()
    reference.filter(has_text=re.compile(r"KS-")).filter(has_not_text=code).wait_for()
    assert "hammaslääkärin" not in page.locator(".chat-log").inner_text()
    assert query_one(stack["database"], sql, reference=code)[0] is not None  # ended on the server
    page.reload()
    bot_says(page, "Olen Opastin")
    assert "hammaslääkärin" not in page.locator(".chat-log").inner_text()  # nothing comes back
    assert outside.blocked == []
    context.close()


def _say(page, text: str) -> None:
    page.get_by_label("Kirjoita viestisi").fill(text)
    page.get_by_role("button", name="Lähetä", exact=True).click()


def _choose(page, title: str) -> None:
    page.locator(".chat-log button.choice:not([disabled])").filter(has_text=title).last.click()


def test_resident_and_agent_chat_in_two_browsers(browser, stack) -> None:
    agent_context, agent, agent_outside = new_page(browser, bypass_csp=True)
    agent.goto(stack["url"] + "/desk")
    agent.get_by_label("Käyttäjätunnus").fill("hoitaja")
    agent.get_by_label("Salasana").fill(stack["hoitaja"])
    agent.get_by_role("button", name="Kirjaudu").click()
    agent.get_by_role("button", name=re.compile("merkitse paikallaolevaksi")).first.click()
    agent.get_by_role("button", name=re.compile("merkitse poissaolevaksi")).first.wait_for()
    agent.wait_for_load_state()
    # Notices while the desk's tab is in the background: the browser's notification (recorded
    # here; permission granted), the unread count in the title; the sound switch is on by default.
    assert agent.get_by_label("Äänimerkit").is_checked()
    agent.evaluate(NOTIFICATIONS_RECORDED)
    agent.evaluate("Object.defineProperty(document, 'hidden', {value: true, configurable: true})")

    # The bot checks that the team is open and someone is there before it offers the queue.
    resident_context, resident, outside = new_page(browser)
    resident.goto(stack["url"] + "/")
    bot_says(resident, "Olen Opastin")
    _say(resident, "lapsen rokotukset neuvolassa")
    bot_says(resident, "Neuvolan chat on nyt auki. Jonossa ei ole ketään")
    _choose(resident, "Kyllä, jonoon")
    resident.locator(".message--queue, .message--bot").filter(has_text="sijalla 1").first.wait_for()
    expect(agent).to_have_title(re.compile(r"^\(1\) "))
    assert agent.evaluate("window.recordedNotices") == ["Uusi asukas jonossa Opastimen työpöydällä"]
    agent.evaluate("Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
                   "document.dispatchEvent(new Event('visibilitychange'))")  # fmt: skip
    assert not agent.title().startswith("(")

    agent.reload()
    agent.get_by_text("lapsen rokotukset neuvolassa").first.wait_for()  # the bot's summary for the agent
    agent.get_by_role("button", name="Ota seuraava").first.click()
    agent.locator("body[data-desk-live]").wait_for()  # the conversation page's script is running
    # The team's ready answers: Alt+1 or a button puts one into the reply to be edited; nothing is sent.
    reply = agent.get_by_label("Vastaus asukkaalle")
    reply.focus()
    agent.keyboard.press("Alt+1")
    assert reply.input_value().startswith("Hei, olen neuvolan terveydenhoitaja.")
    agent.get_by_role("button", name=re.compile("Lopetus$")).click()
    assert reply.input_value().endswith("antaa halutessasi palautetta.")
    assert agent.evaluate("document.activeElement.id") == "reply"
    reply.fill("Hei, olen terveydenhoitaja. Miten voin auttaa?")  # edited before sending
    agent.get_by_role("button", name="Lähetä").click()
    resident.locator(".message--agent").filter(has_text="olen terveydenhoitaja").wait_for()

    agent.evaluate(NOTIFICATIONS_RECORDED)
    agent.evaluate("Object.defineProperty(document, 'hidden', {value: true, configurable: true})")
    resident.get_by_label("Kirjoita viestisi").fill("Milloin seuraava rokotus on? <script>alert(1)</script>")
    resident.keyboard.press("Enter")
    agent.get_by_text("Milloin seuraava rokotus on? <script>alert(1)</script>").wait_for()
    expect(agent).to_have_title(re.compile(r"^\(1\) "))
    assert agent.evaluate("window.recordedNotices") == ["Uusi viesti asukkaalta Opastimen työpöydällä"]
    # Every time on the desk is Helsinki time, whether rendered by the server or added live (the
    # browser here runs in UTC).
    hours = {f"klo {datetime.now(HELSINKI) - timedelta(minutes=m):%H}." for m in (0, 2)}
    times = agent.locator(".line__at").all_inner_texts()
    assert len(times) >= 3 and all(any(hour in time for hour in hours) for time in times), times
    agent.screenshot(path=str(RESULTS / "desk-live-chat.png"), full_page=True)
    resident.screenshot(path=str(RESULTS / "resident-live-chat.png"), full_page=True)
    assert axe_violations(agent) == []

    # The agent ends the chat; the bot asks for feedback, which the resident gives by buttons.
    agent.get_by_role("button", name="Lopeta keskustelu").click()
    resident.locator(".message--system").filter(has_text="Keskustelu päättyi").wait_for()
    bot_says(resident, "asteikolla 1–5")
    _choose(resident, "5 – Erittäin hyvä")
    bot_says(resident, "mitä voisimme tehdä paremmin")
    _choose(resident, "Ei kommenttia")
    bot_says(resident, "Kiitos palautteestasi")
    assert query_one(stack["database"], "SELECT rating, comment FROM feedback") == (5, None)
    assert outside.blocked == [] and agent_outside.blocked == []
    resident_context.close()
    agent_context.close()


def test_resident_leaves_a_call_back_request_when_nobody_is_there(browser, stack) -> None:
    context, page, outside = new_page(browser, width=390, height=844)
    page.goto(stack["url"] + "/")
    bot_says(page, "Olen Opastin")
    _say(page, "mulla on hammas kipee")
    bot_says(page, "paikalla ei ole ketään vastaamassa")
    _choose(page, "Jätä yhteydenottopyyntö")
    bot_says(page, "missä asiassa toivot yhteydenottoa")
    _say(page, "Paikka on irronnut hampaasta, hetu 131052-308T, toivon aikaa")
    bot_says(page, "poistin sen")
    _choose(page, "Puhelimitse")
    bot_says(page, "Kirjoita puhelinnumerosi")
    _say(page, "12345")
    bot_says(page, "ei näytä suomalaiselta puhelinnumerolta")
    _say(page, "+358 40 123 4567")
    bot_says(page, "puhelimitse numeroon 040 123 4567")
    _choose(page, "Kyllä, lähetä")
    bot_says(page, r"Viitenumerosi on YP-\d{4}-\d{6}")
    page.screenshot(path=str(RESULTS / "resident-contact-request.png"), full_page=True)

    topic, message, value = query_one(
        stack["database"], "SELECT topic, message, contact_value FROM contact_requests"
    )
    assert (topic, value) == ("Hammashoito", "0401234567")
    assert "131052-308T" not in message and "******-****" in message
    assert outside.blocked == []
    context.close()


def test_the_contact_form_takes_a_correction_at_every_step(browser, stack) -> None:
    """Team, message, method, address and the read-back each corrected once, in the resident's words."""
    context, page, outside = new_page(browser, width=390, height=844)
    page.goto(stack["url"] + "/")
    bot_says(page, "Olen Opastin")
    _say(page, "haluan jättää soittopyynnön")
    bot_says(page, "Mille palvelulle haluat jättää viestin")
    assert "En tunnistanut" not in page.locator(".chat-log").inner_text()  # no error before the question
    _choose(page, "Suun terveydenhuolto")
    bot_says(page, "missä asiassa toivot yhteydenottoa")
    _say(page, "ei kun siis neuvola")
    bot_says(page, "vaihdoin palveluksi Neuvola")
    _say(page, "Haluaisin kysyä lapseni rokotuksista")
    bot_says(page, "Miten haluat, että sinuun otetaan yhteyttä")
    _say(page, "haluun muuttaa viestiä")
    bot_says(page, "kirjoitetaan viesti uudelleen")
    _say(page, "Haluaisin kysyä lapseni rokotusajasta ja seuraavasta neuvolakäynnistä")
    _choose(page, "Puhelimitse")
    bot_says(page, "Kirjoita puhelinnumerosi")
    _say(page, "ei kun sittenkin sähköpostiin")
    bot_says(page, "yhteyttä sähköpostitse")
    _say(page, "liisa@posti.fi")
    bot_says(page, "sähköpostitse osoitteeseen liisa@posti.fi")
    page.screenshot(path=str(RESULTS / "resident-form-corrections-read-back.png"), full_page=True)
    _say(page, "osoite meni väärin, se on liisa.virtanen@posti.fi")
    bot_says(page, "korjasin yhteystiedon")
    bot_says(page, "sähköpostitse osoitteeseen liisa.virtanen@posti.fi")
    _say(page, "joo laita menemään")
    bot_says(page, r"Viitenumerosi on YP-\d{4}-\d{6}")
    page.screenshot(path=str(RESULTS / "resident-form-corrections-sent.png"), full_page=True)

    stored = query_one(
        stack["database"],
        "SELECT team_id, message, contact_method, contact_value FROM contact_requests "
        "WHERE contact_value = 'liisa.virtanen@posti.fi'",
    )
    assert stored == (
        "neuvola",
        "Haluaisin kysyä lapseni rokotusajasta ja seuraavasta neuvolakäynnistä",
        "email",
        "liisa.virtanen@posti.fi",
    )
    assert outside.blocked == []
    context.close()


def test_a_suspected_emergency_asks_one_safety_question_with_a_call_link(browser, stack) -> None:
    context, page, outside = new_page(browser, bypass_csp=True)
    page.goto(stack["url"] + "/")
    bot_says(page, "Olen Opastin")
    _say(page, "mulla on kova rintakpiu")  # a typo: a suspicion, not a certainty
    bot_says(page, "Onko joku nyt hengenvaarassa tai vakavasti sairas")
    call = page.get_by_role("link", name="Soita 112")
    assert call.get_attribute("href") == "tel:112"  # a phone opens the dialler; the text says 112 too
    call_first = "(link) => !!(link.compareDocumentPosition(document.querySelector('.message--choices')) & 4)"
    assert call.evaluate(call_first), "the call link must come before the answers"
    page.screenshot(path=str(RESULTS / "resident-safety-question.png"), full_page=True)
    assert axe_violations(page) == []
    _choose(page, "Kyllä")
    bot_says(page, "Tämä kuulostaa hätätilanteelta")
    assert outside.blocked == []
    context.close()
