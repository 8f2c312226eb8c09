"""Typing indicators in a real browser (Debian Chromium driven by Playwright), both ways.

Starts the handoff service alone (a live chat needs no bot; the bot's address
answers nothing) with the agent "hoitaja" in neuvola. The resident is queued
through the service API, the agent takes the chat, and then: the resident's
keys show "Asukas kirjoittaa…" in the open conversation and as a tag in the
desk's chat list; emptying the field or sending hides it; the agent's keys show
"Ammattilainen kirjoittaa…" in the widget's polite live region, hidden by the
agent's message or 5–6 s without a key. Every websocket frame of both pages is
recorded: no draft's text leaves a page before it is sent. axe-core finds no
WCAG 2.1 AA violations with the indicators shown, nothing is requested from
another host. Screenshots: ``test-results/typing-desk.png``, ``typing-desk-list.png`` and
``typing-resident.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browsers import RESULTS, axe_violations, new_page, service_alone
from tests.e2e.stack import conversation_id_of

pytestmark = pytest.mark.e2e

TOKEN = "typing-test-token-0123456789"
RESIDENT_DRAFT = "Milloin seuraava rokotus"
AGENT_DRAFT = "Katson kalenteria"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The service alone, every team open, with the neuvola agent "hoitaja"."""
    tmp = tmp_path_factory.mktemp("typing")
    with service_alone(tmp, {"hoitaja": "neuvola"}, HANDOFF_API_TOKEN=TOKEN) as running:
        yield running


def record_frames(page) -> list[str]:
    """Every websocket frame the page sends or receives, as text."""
    frames: list[str] = []

    def watch(socket) -> None:
        for event in ("framesent", "framereceived"):
            socket.on(event, lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    return frames


def queue_the_resident(service: dict[str, str], page) -> None:
    """Queue the page's conversation for neuvola as the action server would."""
    secret = page.evaluate("window.localStorage.getItem('opastin.session')")
    body = {
        "conversation_id": conversation_id_of(service["database"], secret),
        "team": "neuvola",
        "summary": "Kysyy lapsen rokotuksista.",
        "transcript": [{"sender": "resident", "text": "lapsen rokotukset"}],
    }
    response = httpx.post(
        service["url"] + "/api/service/handoffs", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 201, response.text


def test_typing_indicators_both_ways_without_the_text(browser, service) -> None:
    agent_context, agent, agent_outside = new_page(browser, bypass_csp=True)
    agent_frames = record_frames(agent)
    agent.goto(service["url"] + "/desk")
    agent.get_by_label("Käyttäjätunnus").fill("hoitaja")
    agent.get_by_label("Salasana").fill(service["hoitaja"])
    agent.get_by_role("button", name="Kirjaudu").click()
    agent.get_by_role("button", name=re.compile("merkitse paikallaolevaksi")).first.click()
    agent.get_by_role("button", name=re.compile("merkitse poissaolevaksi")).first.wait_for()

    resident_context, resident, outside = new_page(browser, bypass_csp=True)  # for axe-core
    resident_frames = record_frames(resident)
    resident.goto(service["url"] + "/")
    resident.locator(".message--system").first.wait_for()  # the bot does not answer; the gateway says so
    queue_the_resident(service, resident)
    resident.locator(".message--queue").filter(has_text="sijalla 1").wait_for()

    agent.reload()
    agent.get_by_role("button", name="Ota seuraava").first.click()
    reply = agent.get_by_label("Vastaus asukkaalle")
    reply.wait_for()
    desk_typing = agent.locator("[data-typing]")
    assert desk_typing.get_attribute("aria-live") == "polite"
    # A second desk tab on the front page: the chat list marks the chat.
    overview = agent_context.new_page()
    overview.goto(service["url"] + "/desk")
    overview.locator("[data-chat]").wait_for()
    overview.wait_for_load_state("networkidle")

    # The resident writes: the desk says so, in the conversation and in the chat list, never what.
    field = resident.get_by_label("Kirjoita viestisi")
    field.press_sequentially(RESIDENT_DRAFT, delay=60)
    desk_typing.filter(has_text="Asukas kirjoittaa…").wait_for()
    overview.locator("[data-chat] .tag--typing").filter(has_text="Asukas kirjoittaa…").wait_for()
    assert not any("seuraava" in frame for frame in resident_frames + agent_frames)
    assert agent.get_by_text(RESIDENT_DRAFT).count() == 0
    # The field emptied: "stopped" at once.
    field.fill("")
    expect(agent.locator("[data-typing]")).to_have_text("")
    overview.locator("[data-chat] .tag--typing").wait_for(state="detached")
    # Written again and sent: the indicator gives way to the message.
    field.press_sequentially(RESIDENT_DRAFT + " on?", delay=120)
    desk_typing.filter(has_text="Asukas kirjoittaa…").wait_for()
    assert not any("seuraava" in frame for frame in resident_frames + agent_frames)
    resident.keyboard.press("Enter")
    agent.get_by_text(RESIDENT_DRAFT + " on?").wait_for()
    expect(agent.locator("[data-typing]")).to_have_text("")

    # The professional writes: the widget's polite live region says so once, never what.
    resident_typing = resident.locator("[data-chat-typing]")
    assert resident_typing.get_attribute("aria-live") == "polite"
    reply.press_sequentially(AGENT_DRAFT, delay=60)
    resident_typing.filter(has_text="Ammattilainen kirjoittaa…").wait_for()
    assert not any("kalenteria" in frame for frame in resident_frames + agent_frames)
    resident.screenshot(path=str(RESULTS / "typing-resident.png"), full_page=True)
    assert axe_violations(resident) == []
    # 5 s without a key: "stopped" (the widget's own 6 s timeout would hide it too).
    expect(resident_typing).to_have_text("", timeout=9_000)
    reply.press_sequentially(" nyt.", delay=60)
    resident_typing.filter(has_text="Ammattilainen kirjoittaa…").wait_for()
    agent.get_by_role("button", name="Lähetä").click()
    resident.locator(".message--agent").filter(has_text=AGENT_DRAFT + " nyt.").wait_for()
    expect(resident_typing).to_have_text("")

    # Back to the resident's side for the desk's checks, with the indicator shown.
    field.press_sequentially("Kiitos", delay=60)
    desk_typing.filter(has_text="Asukas kirjoittaa…").wait_for()
    overview.locator("[data-chat] .tag--typing").wait_for()
    agent.screenshot(path=str(RESULTS / "typing-desk.png"), full_page=True)
    overview.screenshot(path=str(RESULTS / "typing-desk-list.png"), full_page=True)
    assert axe_violations(agent) == []
    assert axe_violations(overview) == []
    assert outside.blocked == [] and agent_outside.blocked == []
    resident_context.close()
    agent_context.close()
