"""Consultation rooms in a real browser (Debian Chromium driven by Playwright, the pages' CSP on).

Two professionals of different teams open the common room from the desk's "Huoneet": each sees
the other in the presence list; one writes with the keyboard only and the other sees the message
without a reload, and the answer comes back the same way; marking oneself away takes one off the
other's presence list at once. Another team's room stays closed, axe-core finds nothing on the
rooms' pages, and a screenshot goes to ``test-results/rooms.png``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.browsers import RESULTS, frame_axe_violations, logged_in_desk, service_alone

pytestmark = pytest.mark.e2e

QUESTION = "Onko jollakulla kokemusta perhetyön ja neuvolan yhteisistä kotikäynneistä?"
ANSWER = "On, meillä on. Soita minulle tänään iltapäivällä, niin sovitaan."


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The service alone, every team open: "hoitaja" in neuvola, "psyk" in mental health services."""
    tmp = tmp_path_factory.mktemp("rooms")
    with service_alone(tmp, {"hoitaja": "neuvola", "psyk": "mielenterveys_paihde"}) as running:
        yield running


def test_two_teams_meet_in_the_common_room_in_real_time(browser, service) -> None:
    nurse_context, nurse, nurse_outside = logged_in_desk(browser, service, "hoitaja")
    psyk_context, psyk, psyk_outside = logged_in_desk(browser, service, "psyk")
    for page in (nurse, psyk):
        page.get_by_role("link", name="Huoneet").click()
        expect(page.get_by_role("heading", name="Huoneet", level=1)).to_be_visible()
    expect(nurse.get_by_role("link", name="Tiimihuone: Neuvola")).to_be_visible()
    expect(psyk.get_by_role("link", name="Tiimihuone: Neuvola")).to_have_count(0)
    assert frame_axe_violations(psyk.main_frame) == []
    psyk.screenshot(path=str(RESULTS / "rooms-list.png"), full_page=True)
    for page in (nurse, psyk):
        page.get_by_role("link", name="Yhteinen huone").click()
        page.locator("body[data-desk-live]").wait_for()
    expect(psyk.locator("[data-room-presence]")).to_contain_text("hoitaja")
    expect(nurse.locator("[data-room-presence]")).to_contain_text("psyk")

    # Keyboard only: the skip link to the field, the text, Tab to "Julkaise", Enter.
    nurse.keyboard.press("Tab")
    nurse.keyboard.press("Tab")
    expect(nurse.get_by_role("link", name="Siirry kirjoittamaan")).to_be_focused()
    nurse.keyboard.press("Enter")
    expect(nurse.get_by_label("Viesti huoneeseen")).to_be_focused()
    nurse.keyboard.type(QUESTION)
    nurse.keyboard.press("Tab")
    expect(nurse.get_by_role("button", name="Julkaise")).to_be_focused()
    nurse.keyboard.press("Enter")
    expect(psyk.locator("[data-room-log]")).to_contain_text(QUESTION)  # no reload
    expect(nurse.locator("[data-room-log] li")).to_have_count(1)  # shown once, though it came twice
    expect(nurse.get_by_label("Viesti huoneeseen")).to_have_value("")
    expect(nurse.get_by_label("Viesti huoneeseen")).to_be_focused()

    psyk.get_by_label("Viesti huoneeseen").fill(ANSWER)
    psyk.get_by_role("button", name="Julkaise").click()
    expect(nurse.locator("[data-room-log] li").last).to_contain_text(ANSWER)
    expect(psyk.locator("[data-room-log] li")).to_have_count(2)
    psyk.screenshot(path=str(RESULTS / "rooms.png"), full_page=True)

    # The nurse marks herself away (as her front page's button does): gone from psyk's list at once.
    csrf = nurse.locator('meta[name="csrf-token"]').get_attribute("content")
    away = nurse.request.post(
        service["url"] + "/desk/presence",
        form={"team": "neuvola", "present": "0"},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert away.status == 200
    expect(psyk.locator("[data-room-presence]")).not_to_contain_text("hoitaja")
    expect(psyk.locator("[data-room-presence]")).to_contain_text("psyk")

    assert psyk.request.get(service["url"] + "/desk/huoneet/neuvola").status == 403
    for page in (nurse, psyk):
        assert frame_axe_violations(page.main_frame) == []
    for context, outside in ((nurse_context, nurse_outside), (psyk_context, psyk_outside)):
        assert outside.blocked == []
        context.close()
