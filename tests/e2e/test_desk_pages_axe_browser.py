"""axe-core on every page of the agent desk (Debian Chromium driven by Playwright, the pages' CSP on).

One service with a neuvola professional ("hoitaja") and an administrator ("paakayttaja", who also
sees the statistics, the learning queue and the accounts). A resident is queued, taken and the chat
ended, so that the conversation, the ended chats and the inbox have something to show. Every page
a desk user can open is visited and checked against WCAG 2.1 AA: the login page, the desk, a
conversation, the team's ended chats and contact requests, the situation, the rooms, the password
page, the accounts, the statistics and their monthly report, the learning queue and the error
page. The results, page by page, go to ``test-results/desk-axe.md`` (the closing notes quote it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from handoff import agents
from handoff.db import Database
from tests.e2e.browsers import (
    RESULTS,
    frame_axe_violations,
    logged_in_desk,
    new_page,
    queued_resident,
    service_alone,
)

pytestmark = pytest.mark.e2e

TOKEN = "axe-pages-token-0123456789"
ADMIN_PASSWORD = "pääkäyttäjän pitkä salasana"

AGENT_PAGES = {
    "työpöytä": "/desk",
    "keskustelu (päättynyt)": "/desk/conversations/{conversation}",
    "päättyneet keskustelut": "/desk/teams/neuvola/ended",
    "yhteydenottopyynnöt": "/desk/teams/neuvola/contact-requests",
    "tilannekuva": "/desk/tilanne",
    "huoneet": "/desk/huoneet",
    "yhteinen huone": "/desk/huoneet/yhteinen-huone",
    "tiimihuone": "/desk/huoneet/neuvola",
    "salasanan vaihto": "/desk/password",
    "virhesivu 403 (ei pääsyä)": "/desk/conversations/ei-ole-olemassa",  # unknown ids are not told apart
    "virhesivu 404 (ei löydy)": "/desk/huoneet/ei-ole-olemassa",
}
ADMIN_PAGES = {
    "käyttäjät": "/desk/admin",
    "tilastot": "/desk/tilastot",
    "kuukausiraportti": "/desk/tilastot/kuukausiraportti",
    "opetusjono": "/desk/opetus",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The service alone with "hoitaja" in neuvola and the administrator "paakayttaja"."""
    tmp = tmp_path_factory.mktemp("axe-pages")
    with service_alone(tmp, {"hoitaja": "neuvola"}, HANDOFF_API_TOKEN=TOKEN) as running:
        database = Database(running["database"])
        try:
            with database.writing() as session:
                agents.create_agent(session, "paakayttaja", ADMIN_PASSWORD, datetime.now(UTC), role="admin")
        finally:
            database.dispose()
        yield running


def login(browser, url: str, username: str, password: str):
    """A logged-in desk page of an account that needs no presence (the administrator)."""
    context, page, _outside = new_page(browser)
    page.goto(url + "/desk/login")
    page.get_by_label("Käyttäjätunnus").fill(username)
    page.get_by_label("Salasana").fill(password)
    page.get_by_role("button", name="Kirjaudu").click()
    page.wait_for_url(lambda address: "/login" not in address)
    return context, page


def checked(page, url: str) -> tuple[int, list[str]]:
    """Open ``url`` and run axe on it: (HTTP status, violations)."""
    response = page.goto(url)
    assert response is not None
    page.locator("main, h1").first.wait_for()
    return response.status, frame_axe_violations(page.main_frame)


def test_every_desk_page_passes_axe(browser, service) -> None:
    url = service["url"]
    results: dict[str, tuple[int, list[str]]] = {}
    context, page, _outside = new_page(browser)
    results["kirjautuminen"] = checked(page, url + "/desk/login")
    context.close()

    agent_context, agent, _outside = logged_in_desk(browser, service, "hoitaja")  # present in neuvola
    resident_context, _resident, _outside, conversation = queued_resident(
        browser, service, "neuvola", "Kysyy rokotuksista.", TOKEN
    )
    agent.reload()
    agent.get_by_role("button", name="Ota seuraava").first.click()
    agent.get_by_role("button", name="Lopeta keskustelu").click()
    agent.get_by_text("Keskustelu päättyi.").first.wait_for()
    for name, path in AGENT_PAGES.items():
        results[name] = checked(agent, url + path.format(conversation=conversation))
    admin_context, admin = login(browser, url, "paakayttaja", ADMIN_PASSWORD)
    for name, path in ADMIN_PAGES.items():
        results[name] = checked(admin, url + path)

    lines = ["| page | HTTP | axe-core WCAG 2.1 AA violations |", "|---|---|---|"]
    for name, (status, violations) in results.items():
        lines.append(f"| {name} | {status} | {'; '.join(violations) if violations else '0'} |")
    (RESULTS / "desk-axe.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for each in (resident_context, agent_context, admin_context):
        each.close()
    assert {name: status for name, (status, _) in results.items()} == {
        name: int(name.split()[1]) if name.startswith("virhesivu") else 200 for name in results
    }
    assert {name: violations for name, (_, violations) in results.items() if violations} == {}
