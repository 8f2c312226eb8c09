"""The desk's statistics page in a real browser (Debian Chromium driven by Playwright).

Starts the handoff service alone (the page needs no bot) with March 2026's
daily counts and a manager, "esko". Checked: the manager lands on the page
after logging in by keyboard, picks a team and the previous month by keyboard
alone, the page fits 1280 px, axe-core finds no WCAG 2.1 AA violations on it
or on the printable monthly report, and nothing is requested from another
host; an administrator creates a manager on the accounts page, also free of
axe violations. Screenshots (the page, and the report as printed) go to
``test-results/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from handoff import agents
from handoff.db import Database
from tests.e2e.browsers import RESULTS, frame_axe_violations, new_page, service_alone, tab_to_id
from tests.handoff.live_support import PASSWORD
from tests.handoff.statistics_support import seed_march

pytestmark = pytest.mark.e2e

MARCH = "/desk/tilastot?period=month&day=2026-03-01"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service with March's counts, the manager "esko" and the administrator "paakayttaja"."""
    tmp = tmp_path_factory.mktemp("statistics")
    with service_alone(tmp, {}, HANDOFF_API_TOKEN="statistics-test-token-0123456789") as running:
        database = Database(running["database"])
        try:
            with database.writing() as session:
                agents.create_agent(session, "esko", PASSWORD, datetime.now(UTC), role="manager")
                agents.create_agent(session, "paakayttaja", PASSWORD, datetime.now(UTC), role="admin")
            seed_march(database)
        finally:
            database.dispose()
        yield running["url"]


def tab_to_link(page, text: str, limit: int = 40) -> None:
    """Press Tab until the link reading ``text`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == text:
            return
    pytest.fail(f"Tab never reaches the link {text!r}")


def test_a_manager_reads_the_statistics_by_keyboard_and_prints_the_month(browser, service: str) -> None:
    context, page, outside = new_page(browser)
    errors: list[str] = []  # e.g. a style or script the Content-Security-Policy refused
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(service + "/desk/login")
    if page.evaluate("document.activeElement.id") != "username":  # autofocus may come late
        tab_to_id(page, "username")
    page.keyboard.type("esko")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation(url="**/desk/tilastot"):  # a manager's front page
        page.keyboard.press("Enter")

    page.goto(service + MARCH)
    assert page.get_by_role("heading", level=1).inner_text() == "Tilastot: maaliskuu 2026"
    assert page.get_by_role("img", name="Keskustelut tiimeittäin").is_visible()
    assert page.get_by_role("row", name="Kätilöt").get_by_role("cell").first.inner_text() == "< 5"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert frame_axe_violations(page.main_frame) == []
    page.screenshot(path=str(RESULTS / "statistics-desktop.png"), full_page=True)

    tab_to_id(page, "stats-team")
    page.keyboard.type("Neuvola")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Näytä tilastot"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Tilastot: Neuvola, maaliskuu 2026").wait_for()
    tab_to_link(page, "← Edellinen jakso")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Tilastot: Neuvola, helmikuu 2026").wait_for()
    assert page.get_by_text("Tältä jaksolta ei ole tilastoja.").is_visible()

    page.goto(service + "/desk/tilastot/kuukausiraportti?month=2026-03")
    assert page.get_by_role("heading", level=1).inner_text() == "Kuukausiraportti: maaliskuu 2026"
    assert page.get_by_role("button", name="Tulosta raportti").is_visible()  # the script shows it
    assert frame_axe_violations(page.main_frame) == []
    page.emulate_media(media="print")
    assert not page.locator(".desk-header").is_visible()
    assert not page.get_by_role("button", name="Tulosta raportti").is_visible()
    page.screenshot(path=str(RESULTS / "statistics-print.png"), full_page=True)

    page.emulate_media(media="screen")
    page.goto(service + "/desk/tilanne")  # the situation now, every team, no resident
    assert page.get_by_role("heading", level=1).inner_text() == "Tilannekuva nyt"
    assert page.get_by_role("heading", name="Kätilöt").is_visible()
    assert frame_axe_violations(page.main_frame) == []
    page.screenshot(path=str(RESULTS / "desk-situation.png"), full_page=True)
    assert outside.blocked == [] and errors == []
    context.close()


def test_an_administrator_creates_a_manager_on_an_accessible_page(browser, service: str) -> None:
    context, page, outside = new_page(browser)
    page.goto(service + "/desk/login")
    page.get_by_label("Käyttäjätunnus").fill("paakayttaja")
    page.get_by_label("Salasana").fill(PASSWORD)
    with page.expect_navigation(url="**/desk"):
        page.get_by_role("button", name="Kirjaudu").click()
    with page.expect_navigation(url="**/desk/admin"):
        page.get_by_role("link", name="Käyttäjät").click()
    expect(page.get_by_role("link", name="Tilastot")).to_be_visible()
    page.get_by_label("Käyttäjätunnus (a–z, 0–9, piste, viiva)").fill("liisa")
    page.get_by_label("Nimi, joka näkyy asukkaalle ja kollegoille").fill("Liisa Esihenkilö")
    page.get_by_role("radio", name="Esihenkilö – näkee vain tilastot", exact=False).check()
    page.get_by_role("button", name="Luo käyttäjä").click()
    page.get_by_text("Salasana käyttäjälle liisa").wait_for()
    liisa = page.get_by_role("listitem").filter(has_text="Liisa Esihenkilö")
    assert liisa.get_by_text("Näkee kaikkien tiimien tilastot. Ei kuulu tiimeihin.").is_visible()
    assert frame_axe_violations(page.main_frame) == []
    assert outside.blocked == []
    context.close()
