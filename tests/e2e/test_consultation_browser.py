"""Consultation between professionals in a real browser (Debian Chromium driven by Playwright).

Two professionals of different teams: the one holding a live chat invites the other, whose desk
is told at once and lists the chat; the consultant opens it read-only and both write in the
consultation thread, each seeing the other's message without a reload. The resident's page never
shows the thread, axe-core finds nothing on the consultant's page, and the holder ends the
consultation: the consultant's access is gone. Between, the holder takes the consultant into the
resident's chat: the resident is told who joins, sees the participant's message under their name,
and both desks see the resident's answer live; the participant leaves again and the resident is
told. Screenshots go to ``test-results/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.browsers import (
    RESULTS,
    frame_axe_violations,
    logged_in_desk,
    queued_resident,
    service_alone,
)

pytestmark = pytest.mark.e2e

TOKEN = "consult-test-token-0123456789"
QUESTION = "Asukas kertoo unettomuudesta ja ahdistuksesta. Kannattaako ohjata teille?"
ANSWER = "Kyllä, ohjaa mielenterveyspalveluihin; soitamme hänelle huomenna."
FROM_PARTICIPANT = "Hei, olen psykiatrinen sairaanhoitaja. Miten olet nukkunut viime viikolla?"
FROM_RESIDENT = "Huonosti, heräilen monta kertaa yössä."


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The service alone, every team open: "hoitaja" in neuvola, "psyk" in mental health services."""
    tmp = tmp_path_factory.mktemp("consult")
    agents = {"hoitaja": "neuvola", "psyk": "mielenterveys_paihde"}
    with service_alone(tmp, agents, HANDOFF_API_TOKEN=TOKEN) as running:
        yield running


def test_a_colleague_of_another_team_consults_in_a_private_thread(browser, service) -> None:
    holder_context, holder, holder_outside = logged_in_desk(browser, service, "hoitaja", bypass_csp=True)
    consultant_context, consultant, consultant_outside = logged_in_desk(browser, service, "psyk")
    context, resident, outside, conversation_id = queued_resident(
        browser, service, "neuvola", "Kysyy väsymyksestä vauvan synnyttyä.", TOKEN
    )
    holder.reload()
    holder.get_by_role("button", name="Ota seuraava").first.click()
    holder.locator("body[data-desk-live]").wait_for()

    # Invite: the colleague's desk says so at once and lists the chat beside their own.
    holder.get_by_label("Pyydä kollegaa konsultoimaan").select_option("psyk")
    holder.get_by_role("button", name="Pyydä konsultaatiota").click()
    consultant.get_by_text("hoitaja pyytää sinua konsultoimaan keskustelussa.").wait_for()
    consultant.get_by_role("link", name="Konsultaatio: Neuvola").click()
    consultant.get_by_text("Sinua on pyydetty konsultoimaan").wait_for()
    assert consultant.get_by_label("Vastaus asukkaalle").count() == 0  # read-only for the resident's chat
    assert consultant.get_by_text("Sisäiset muistiinpanot").count() == 0

    # The thread, both ways, without reloads.
    consultant.locator("body[data-desk-live]").wait_for()
    holder.get_by_label("Viesti konsultaatioketjuun").fill(QUESTION)
    holder.get_by_role("button", name="Lisää ketjuun").click()
    consultant.locator("[data-thread]").get_by_text(QUESTION).wait_for()
    consultant.get_by_label("Viesti konsultaatioketjuun").fill(ANSWER)
    consultant.get_by_role("button", name="Lisää ketjuun").click()
    holder.locator("[data-thread]").get_by_text(ANSWER).wait_for()
    expect(holder.locator("[data-thread] li")).to_have_count(2)  # shown once each
    assert frame_axe_violations(consultant.main_frame) == []
    consultant.screenshot(path=str(RESULTS / "consultation-consultant.png"), full_page=True)
    holder.screenshot(path=str(RESULTS / "consultation-holder.png"), full_page=True)
    assert resident.get_by_text(QUESTION).count() == 0 and resident.get_by_text(ANSWER).count() == 0

    # A visible participant: the resident is told who joins; the participant writes to them.
    holder.get_by_role("button", name="Ota mukaan keskusteluun: psyk").click()
    resident.get_by_text("psyk liittyy keskusteluun auttamaan asiassasi.").wait_for()
    consultant.get_by_text("psyk on nyt mukana keskustelussa asukkaan kanssa.").wait_for()
    consultant.get_by_label("Vastaus asukkaalle").fill(FROM_PARTICIPANT)  # in place, no reload
    consultant.locator("[data-reply] button[type=submit]").click()
    resident.get_by_text(FROM_PARTICIPANT).wait_for()
    holder.locator("[data-log]").get_by_text(FROM_PARTICIPANT).wait_for()
    resident.get_by_label("Kirjoita viestisi").fill(FROM_RESIDENT)
    resident.get_by_label("Kirjoita viestisi").press("Enter")
    consultant.locator("[data-log]").get_by_text(FROM_RESIDENT).wait_for()  # both desks, live
    holder.locator("[data-log]").get_by_text(FROM_RESIDENT).wait_for()
    assert frame_axe_violations(consultant.main_frame) == []
    consultant.screenshot(path=str(RESULTS / "consultation-participant.png"), full_page=True)
    resident.screenshot(path=str(RESULTS / "consultation-participant-resident.png"), full_page=True)
    consultant.get_by_role("button", name="Poistu keskustelusta").click()
    resident.get_by_text("psyk poistui keskustelusta.").wait_for()
    expect(consultant.get_by_label("Vastaus asukkaalle")).to_have_count(0)
    assert resident.get_by_text(QUESTION).count() == 0 and resident.get_by_text(ANSWER).count() == 0

    # The holder ends it: the consultant's page says the chat is no longer theirs to see.
    holder.get_by_role("button", name="Lopeta konsultaatio: psyk").click()
    expect(consultant.get_by_role("link", name="Konsultaatio: Neuvola")).to_have_count(0)
    assert consultant.request.get(service["url"] + f"/desk/conversations/{conversation_id}").status == 403
    for each, requests in ((holder_context, holder_outside), (consultant_context, consultant_outside)):
        assert requests.blocked == []
        each.close()
    assert outside.blocked == []
    context.close()
