"""One screen for the day in a real browser (Debian Chromium driven by Playwright).

Starts the handoff service alone (a live chat needs no bot; the bot's address
answers nothing) with the agent "hoitaja" in neuvola and two residents queued
through the service API. The agent takes both and then, at 1280×720, works by
keyboard alone: the chat list beside the open conversation switches between
the chats, and a half-written reply and note survive each switch and come back
(kept in the tab's sessionStorage, never sent); a message in the other chat
raises its unread count and waiting time in place (a variable of the page
survives: no reload, no navigation); the resident leaving the open chat shows
in place with the draft still in its field; ending a chat clears its drafts,
and logging out clears the rest. axe-core finds no WCAG 2.1 AA violations at
1280 px, the page never scrolls sideways at 1280, 1366 and 1440 px, and it
stacks below 1200 px. Screenshots: ``test-results/desk-one-screen.png``
(1280×720) and ``desk-one-screen-1366.png`` (1366×768).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.browsers import RESULTS, axe_violations, new_page, queued_resident, service_alone

pytestmark = pytest.mark.e2e

TOKEN = "screen-test-token-0123456789"
DRAFT_FIRST = "Luonnos ensimmäiselle: katsotaan rokotusaikaa"
DRAFT_SECOND = "Luonnos toiselle: neuvolan puhelinnumero on"
NOTE_SECOND = "Sisäinen luonnos: soita huomenna"
LATER_MESSAGE = "Onko teillä aikaa vielä tällä viikolla?"
DRAFT_KEYS = "Object.keys(sessionStorage).filter((key) => key.startsWith('opastin-desk-'))"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The service alone, every team open, with the neuvola agent "hoitaja"."""
    tmp = tmp_path_factory.mktemp("screen")
    with service_alone(tmp, {"hoitaja": "neuvola"}, HANDOFF_API_TOKEN=TOKEN) as running:
        yield running


def resident_in_queue(browser, service: dict[str, str], summary: str):
    """A resident's page whose conversation waits in neuvola's queue, as the action server queues it."""
    return queued_resident(browser, service, "neuvola", summary, TOKEN)


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab from the top of the page until ``selector`` has the focus (keyboard only)."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Home")
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"{selector} is not reached by Tab")


def switch_by_keyboard(page, conversation_id: str) -> None:
    """Open the chat ``conversation_id`` from the side list with Tab and Enter."""
    tab_to(page, f'.one-screen__side a[href="/desk/conversations/{conversation_id}"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.locator(f'[data-conversation="{conversation_id}"]').wait_for()
    desk_live(page)


def desk_live(page) -> None:
    """Wait until the page's desk.js is connected to the /desk socket."""
    page.locator("body[data-desk-live]").wait_for(state="attached")


def no_sideways_scroll(page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the desk scrolls sideways at {width} px ({scroll_width} px wide)"


def test_one_screen_keeps_drafts_and_updates_in_place(browser, service) -> None:
    agent_context, agent, agent_outside = new_page(browser, width=1280, height=720, bypass_csp=True)
    agent.goto(service["url"] + "/desk")
    agent.get_by_label("Käyttäjätunnus").fill("hoitaja")
    agent.get_by_label("Salasana").fill(service["hoitaja"])
    agent.get_by_role("button", name="Kirjaudu").click()
    agent.get_by_role("button", name=re.compile("merkitse paikallaolevaksi")).first.click()
    agent.get_by_role("button", name=re.compile("merkitse poissaolevaksi")).first.wait_for()

    first_context, first, first_outside, first_id = resident_in_queue(
        browser, service, "Kysyy lapsen rokotuksista."
    )
    second_context, second, second_outside, second_id = resident_in_queue(
        browser, service, "Kysyy neuvola-ajan siirtämisestä."
    )

    # The queue beside the conversation: length and longest wait; "Ota seuraava" takes the next.
    agent.goto(service["url"] + "/desk")
    agent.get_by_role("button", name="Ota seuraava").first.click()
    agent.wait_for_url(f"**/desk/conversations/{first_id}")
    side = agent.get_by_role("navigation", name="Omat keskustelut ja jonot")
    side.get_by_text("Jonossa 1, pisin odotus").wait_for()
    side.get_by_role("button", name=re.compile("^Ota seuraava")).click()
    agent.wait_for_url(f"**/desk/conversations/{second_id}")
    desk_live(agent)
    current = side.locator(f'a[href="/desk/conversations/{second_id}"]')
    assert current.get_attribute("aria-current") == "page"
    assert side.locator(f'a[href="/desk/conversations/{first_id}"]').count() == 1

    # The skip link is the second stop of the keyboard and lands in the reply field.
    tab_to(agent, "[data-skip-reply]", limit=3)
    agent.keyboard.press("Enter")
    expect(agent.locator("#reply")).to_be_focused()

    # Half-written reply and note in the second chat; switch to the first and back, keyboard only.
    agent.keyboard.type(DRAFT_SECOND)
    agent.get_by_label("Uusi muistiinpano").fill(NOTE_SECOND)
    switch_by_keyboard(agent, first_id)
    reply = agent.get_by_label("Vastaus asukkaalle")
    assert reply.input_value() == ""
    reply.fill(DRAFT_FIRST)
    switch_by_keyboard(agent, second_id)
    assert reply.input_value() == DRAFT_SECOND
    assert agent.get_by_label("Uusi muistiinpano").input_value() == NOTE_SECOND
    switch_by_keyboard(agent, first_id)
    assert reply.input_value() == DRAFT_FIRST
    assert agent.get_by_label("Uusi muistiinpano").input_value() == ""
    # Drafts never leave the page: the server stored none of them.
    assert DRAFT_SECOND not in agent.evaluate("document.body.innerText")

    # The second resident writes while the first chat is on screen: its unread count and waiting
    # time appear in the list in place; nothing reloads.
    agent.evaluate("window.stillHere = 'sama sivu'")
    second.get_by_label("Kirjoita viestisi").fill(LATER_MESSAGE)
    second.keyboard.press("Enter")
    other = side.locator(f'[data-chat="{second_id}"]')
    other.locator("[data-unread]").filter(has_text="1 uusi viesti").wait_for()
    other.locator("[data-waiting-since]").filter(has_text=re.compile(r"Odottaa vastausta \d+ min")).wait_for()
    second.get_by_label("Kirjoita viestisi").fill("Ja vielä yksi kysymys.")
    second.keyboard.press("Enter")
    other.locator("[data-unread]").filter(has_text="2 uutta viestiä").wait_for()
    for number in range(3, 13):  # a long conversation for the layout check below
        second.get_by_label("Kirjoita viestisi").fill(f"Lisätieto {number}.")
        second.keyboard.press("Enter")
    other.locator("[data-unread]").filter(has_text="12 uutta viestiä").wait_for()
    assert agent.evaluate("window.stillHere") == "sama sivu"
    assert reply.input_value() == DRAFT_FIRST
    assert agent.get_by_text(LATER_MESSAGE).count() == 0  # not the open conversation's message

    # The first resident ends their chat: the open conversation says so in place, draft kept.
    first.get_by_role("button", name="Lopeta keskustelu").click()
    agent.locator("[data-log]").get_by_text("Asukas aloitti uuden keskustelun").wait_for()
    agent.locator("[data-chat-state]").get_by_text("Asukas on poistunut keskustelusta").wait_for()
    assert agent.evaluate("window.stillHere") == "sama sivu"
    assert reply.input_value() == DRAFT_FIRST
    # An internal note is saved in place too: the reply's draft stays, the note's goes.
    agent.get_by_label("Uusi muistiinpano").fill("Asukas poistui, ei jatkotoimia.")
    agent.get_by_role("button", name="Tallenna muistiinpano").click()
    agent.locator("[data-notes]").get_by_text("Asukas poistui, ei jatkotoimia.").wait_for()
    assert agent.get_by_label("Uusi muistiinpano").input_value() == ""
    assert f"opastin-desk-draft:note:{first_id}" not in agent.evaluate(DRAFT_KEYS)
    assert agent.evaluate("window.stillHere") == "sama sivu"
    assert reply.input_value() == DRAFT_FIRST

    no_sideways_scroll(agent, 1280)
    agent.screenshot(path=str(RESULTS / "desk-one-screen.png"))
    assert axe_violations(agent) == []
    box_side, box_chat = side.bounding_box(), agent.locator("[data-conversation]").bounding_box()
    assert box_side["x"] + box_side["width"] <= box_chat["x"]  # side by side at 1280 px
    assert agent.get_by_label("Vastaus asukkaalle").is_visible()
    for width, height in ((1366, 768), (1440, 900)):
        agent.set_viewport_size({"width": width, "height": height})
        no_sideways_scroll(agent, width)
        if width == 1366:
            agent.evaluate("window.scrollTo(0, 0)")
            agent.screenshot(path=str(RESULTS / "desk-one-screen-1366.png"))
    agent.set_viewport_size({"width": 1024, "height": 768})  # below 1200 px the list stacks above
    box_side, box_chat = side.bounding_box(), agent.locator("[data-conversation]").bounding_box()
    assert box_side["y"] + box_side["height"] <= box_chat["y"]
    no_sideways_scroll(agent, 1024)
    agent.set_viewport_size({"width": 1280, "height": 720})

    # Opening the second chat reads its messages: the count goes. With 14 messages the reply
    # field and its button are still on the one screen of 1280×720.
    switch_by_keyboard(agent, second_id)
    agent.get_by_text(LATER_MESSAGE).wait_for()
    assert side.locator(f'[data-chat="{second_id}"] [data-unread]').is_hidden()
    assert reply.input_value() == DRAFT_SECOND
    send = agent.get_by_role("button", name="Lähetä").bounding_box()
    assert send["y"] + send["height"] <= 720, send
    latest, shown = (
        agent.get_by_text("Lisätieto 12.").bounding_box(),
        agent.locator("[data-log]").bounding_box(),
    )
    assert latest["y"] + latest["height"] <= shown["y"] + shown["height"] + 1  # opens at the latest
    agent.screenshot(path=str(RESULTS / "desk-one-screen-long.png"))
    assert axe_violations(agent) == []  # the scrolling log is reachable by keyboard too
    agent.set_viewport_size({"width": 1024, "height": 768})
    agent.screenshot(path=str(RESULTS / "desk-one-screen-1024.png"), full_page=True)
    agent.set_viewport_size({"width": 1280, "height": 720})

    # Alt+1 is still the first ready answer, added to the draft (kept as the draft too).
    reply.focus()
    agent.keyboard.press("End")
    agent.keyboard.press("Alt+1")
    assert reply.input_value().startswith(DRAFT_SECOND + " Hei, olen neuvolan terveydenhoitaja.")
    kept = agent.evaluate(f"sessionStorage.getItem('opastin-desk-draft:reply:{second_id}')")
    assert kept == reply.input_value()

    # Ending the chat happens in place and clears its drafts; the draft of the other chat stays.
    agent.evaluate("window.stillHere = 'sama sivu'")
    agent.get_by_role("button", name="Lopeta keskustelu").click()
    agent.locator("[data-chat-state]").get_by_text("päättynyt").wait_for()
    assert agent.get_by_label("Vastaus asukkaalle").count() == 0
    assert agent.evaluate("window.stillHere") == "sama sivu"
    kept = agent.evaluate(DRAFT_KEYS)
    assert f"opastin-desk-draft:reply:{first_id}" in kept
    assert not any(second_id in key for key in kept), kept

    # The front page shares the chat list (the first chat, its draft kept) and stays axe-clean.
    agent.get_by_role("link", name="← Takaisin työpöydälle").click()
    agent.locator(f'[data-chat="{first_id}"]').wait_for()
    assert axe_violations(agent) == []

    # Logging out clears every draft and count of the tab.
    agent.get_by_role("button", name="Kirjaudu ulos").click()
    agent.get_by_role("heading", name="Kirjaudu työpöydälle").wait_for()
    assert agent.evaluate(DRAFT_KEYS) == []
    assert agent_outside.blocked == [] and first_outside.blocked == [] and second_outside.blocked == []
    for context in (agent_context, first_context, second_context):
        context.close()
