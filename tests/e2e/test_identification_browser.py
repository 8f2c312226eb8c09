"""Strong identification in a live chat, in a real browser (Debian Chromium driven by Playwright),
against the real test identity provider (npm oidc-provider in idp/, encrypted ID tokens).

The handoff service runs alone (a live chat needs no bot) with the agent "hoitaja" in perhekeskus
(identification optional: the professional asks mid-chat). An anonymous resident is queued through
the service API and taken; the professional presses "Pyydä tunnistautumista"; the resident's chat
shows "Tunnistaudu", which opens the provider in a new tab; the resident picks a test person there;
both the resident's page and the desk show "Tunnistettu: Matti Kokeilu" without a reload. The time
from the professional's request to "Tunnistettu" on the desk is printed (``-s``). Then the database
file and the service's log are read: the identity row is there, the identity code is nowhere in
plain text. A second resident cancels at the provider: both sides get the clear message and the
chat goes on. Screenshots: ``test-results/identify-desk.png``, ``identify-resident.png``,
``identify-cancelled-desk.png`` and ``identify-cancelled-resident.png``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from handoff.identification import service
from handoff.identification.keys import ensure_dev_key_file
from opastin.processes import free_port
from tests.e2e.browsers import (
    RESULTS,
    choose_by_keyboard,
    frame_axe_violations,
    logged_in_desk,
    queued_resident,
    service_alone,
)
from tests.handoff.attachments.clamd import running_clamd
from tests.handoff.attachments.support import CAMERA, jpeg_with_gps
from tests.handoff.identification.support import running_test_provider

pytestmark = pytest.mark.e2e

TOKEN = "identify-test-token-0123456789"
TEAM = "perhekeskus"
REQUIRED_TEAM = "neuvola"  # identification: required in data/teams.yml
MATTI_CODE = "021178-9265"  # idp/persons.json: made up (individual number 900-999)
VEETI_CODE = "050517A952B"  # Aino Testinen's child under 12 in idp/population_register.yml
REGISTER_FILE = Path(__file__).resolve().parents[2] / "idp" / "population_register.yml"


@pytest.fixture(scope="module")
def service_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The test provider and the service pointed at it, every team open, with "hoitaja" in perhekeskus."""
    tmp = tmp_path_factory.mktemp("identify")
    keys = ensure_dev_key_file(tmp / "oidc-client-keys.json")
    port = free_port()
    callback = f"http://127.0.0.1:{port}{service.CALLBACK_PATH}"
    with (
        running_clamd(tmp / "clamd") as clamd,
        running_test_provider(keys, [callback], True, tmp / "idp.log") as issuer,
        service_alone(
            tmp,
            {"hoitaja": TEAM, "terkkari": REQUIRED_TEAM},
            port=port,
            HANDOFF_API_TOKEN=TOKEN,
            OIDC_ISSUER=issuer,
            OIDC_CLIENT_ID="opastin",
            OIDC_CLIENT_KEY_FILE=str(keys),
            OIDC_ENCRYPTED_ID_TOKENS="1",
            POPULATION_REGISTER_FILE=str(REGISTER_FILE),
            CLAMD_ADDRESS=str(clamd),
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def desk(browser, service_stack: dict[str, str]) -> Iterator:
    """The professional's desk, logged in and present in perhekeskus."""
    context, page, outside = logged_in_desk(browser, service_stack, "hoitaja")
    yield page
    assert outside.blocked == []
    context.close()


def resident_in_live_chat(browser, service_stack: dict[str, str], desk):
    """A new anonymous resident, queued through the service API and taken by the desk."""
    context, resident, outside, conversation_id = queued_resident(
        browser, service_stack, TEAM, "Kysyy perheen tukipalveluista.", TOKEN
    )
    desk.goto(service_stack["url"] + "/desk")
    desk.get_by_role("button", name="Ota seuraava").first.click()
    desk.get_by_label("Vastaus asukkaalle").wait_for()
    resident.locator(".message--system").filter(has_text="liittyi keskusteluun").wait_for()
    return context, resident, outside, conversation_id


def read_database(database_url: str, sql: str) -> list[tuple]:
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_the_professional_asks_and_both_see_the_name(browser, service_stack, desk) -> None:
    context, resident, outside, conversation_id = resident_in_live_chat(browser, service_stack, desk)
    panel = desk.locator("[data-identification]")
    panel.get_by_text("Ei tunnistettu").wait_for()

    asked_at = time.monotonic()
    desk.get_by_role("button", name="Pyydä tunnistautumista").click()
    panel.get_by_text("Tunnistautumista pyydetty").wait_for()
    start = resident.get_by_role("link", name=re.compile("^Tunnistaudu"))
    start.wait_for()
    assert start.get_attribute("target") == "_blank" and start.get_attribute("rel") == "noopener"
    with context.expect_page() as opened:
        start.click()
    provider = opened.value
    provider.get_by_role("button", name=re.compile("Matti Kokeilu")).click()
    provider.get_by_role("heading", name="Olet nyt tunnistautunut").wait_for()
    panel.get_by_text("Tunnistettu: Matti Kokeilu").wait_for()
    took = time.monotonic() - asked_at
    print(f"\nfrom 'Pyydä tunnistautumista' to 'Tunnistettu' on the desk: {took:.2f} s (automated)")
    provider.close()

    resident.bring_to_front()  # the resident's own tab, the same conversation
    resident.locator(".message--system").filter(has_text="Tunnistettu: Matti Kokeilu").wait_for()
    assert resident.locator("a.identify-link[href]").count() == 0  # the spent link is retired
    assert resident.locator("a.identify-link--used").count() == 1
    desk.locator("[data-log]").get_by_text("Tunnistettu: Matti Kokeilu").wait_for()
    resident.screenshot(path=str(RESULTS / "identify-resident.png"), full_page=True)
    desk.screenshot(path=str(RESULTS / "identify-desk.png"), full_page=True)
    assert took < 30

    # The chat goes on, identified.
    resident.get_by_label("Kirjoita viestisi").fill("Kiitos, nyt voin kertoa tarkemmin.")
    resident.keyboard.press("Enter")
    desk.get_by_text("Kiitos, nyt voin kertoa tarkemmin.").wait_for()

    # Identified, the resident may attach a photo: it reaches the professional without its metadata.
    # By keyboard on a 360 px phone: Tab from the message field reaches "Lisää liite", Space opens
    # the file chooser; the page does not scroll sideways.
    resident.set_viewport_size({"width": 360, "height": 780})
    resident.get_by_text("Lisää liite").wait_for()
    assert resident.evaluate("document.documentElement.scrollWidth") <= 360
    assert frame_axe_violations(resident.main_frame) == []
    resident.get_by_label("Kirjoita viestisi").focus()
    for _ in range(3):
        resident.keyboard.press("Tab")
        if resident.evaluate("document.activeElement.id") == "chat-attachment":
            break
    assert resident.evaluate("document.activeElement.id") == "chat-attachment"
    resident.screenshot(path=str(RESULTS / "attachment-resident-360px.png"), full_page=True)
    # A full-page screenshot resizes the page for a moment; keep the keyboard on the button.
    resident.locator("#chat-attachment").focus()
    assert resident.evaluate("document.activeElement.id") == "chat-attachment"
    choose_by_keyboard(resident).set_files(
        files=[{"name": "IMG_2041.jpeg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}]
    )
    resident.locator(".message--system").filter(has_text="Liite: IMG_2041.jpg (1 kt)").wait_for()
    download_link = desk.locator("[data-log]").get_by_role("link", name="Lataa liite")
    with desk.expect_download() as downloading:
        download_link.click()
    photo = Image.open(downloading.value.path())
    assert downloading.value.suggested_filename == "IMG_2041.jpg" and not photo.getexif()
    resident.screenshot(path=str(RESULTS / "attachment-resident.png"), full_page=True)
    resident.set_viewport_size({"width": 1280, "height": 900})
    desk.screenshot(path=str(RESULTS / "attachment-desk.png"), full_page=True)

    # The holder opens the identity code for this one view (audited); keyboard focus goes to it.
    panel.get_by_role("button", name="Näytä henkilötunnus").click()
    shown = panel.locator("[data-identity-code]")
    expect(shown).to_have_text(MATTI_CODE)
    expect(shown).to_be_focused()
    panel.get_by_text("Henkilötunnuksen näyttäminen kirjattiin lokiin.").wait_for()
    assert frame_axe_violations(desk.main_frame) == []
    desk.screenshot(path=str(RESULTS / "identify-code-desk.png"), full_page=True)
    audited = read_database(
        service_stack["database"],
        "SELECT actor, object_id FROM audit_log WHERE action = 'identity.code.view'",
    )
    assert audited == [("hoitaja", conversation_id)]
    (stored,) = (Path(service_stack["dir"]) / "attachments").iterdir()
    assert CAMERA.encode() not in stored.read_bytes()  # encrypted at rest

    # After the chat: the identity row is there; the code is nowhere in plain text.
    rows = read_database(
        service_stack["database"],
        "SELECT conversation_id, given_name, family_name, identity_code FROM conversation_identities",
    )
    assert [(row[0], row[1], row[2]) for row in rows] == [(conversation_id, "Matti", "Kokeilu")]
    assert MATTI_CODE not in str(rows[0][3])
    for stored in Path(service_stack["dir"]).glob("handoff.db*"):  # the file and its WAL, if any
        content = stored.read_bytes()
        assert MATTI_CODE.encode() not in content and b"021178" not in content, stored
    log = Path(service_stack["log"]).read_text("utf-8", errors="replace")
    assert "021178" not in log and "Kokeilu" not in log
    assert outside.blocked == []
    context.close()


def test_a_cancelled_identification_is_told_to_both(browser, service_stack, desk) -> None:
    context, resident, outside, _conversation_id = resident_in_live_chat(browser, service_stack, desk)
    panel = desk.locator("[data-identification]")
    desk.get_by_role("button", name="Pyydä tunnistautumista").click()
    start = resident.get_by_role("link", name=re.compile("^Tunnistaudu"))
    with context.expect_page() as opened:
        start.click()
    provider = opened.value
    provider.get_by_role("button", name="Peruuta tunnistautuminen").click()
    provider.get_by_role("heading", name="Tunnistautuminen keskeytettiin").wait_for()
    provider.close()

    panel.get_by_text("Asukas keskeytti tunnistautumisen – keskustelu jatkuu tunnistamattomana").wait_for()
    resident.locator(".message--system").filter(
        has_text="Tunnistautuminen keskeytettiin. Voit jatkaa keskustelua tunnistautumatta."
    ).wait_for()
    assert panel.get_by_role("button", name="Pyydä tunnistautumista uudelleen").is_visible()
    expect(resident.locator("[data-chat-attach]")).to_be_hidden()  # anonymous: no attachments
    resident.screenshot(path=str(RESULTS / "identify-cancelled-resident.png"), full_page=True)
    desk.screenshot(path=str(RESULTS / "identify-cancelled-desk.png"), full_page=True)
    resident.get_by_label("Kirjoita viestisi").fill("Jatketaan ilman tunnistautumista.")
    resident.keyboard.press("Enter")
    desk.get_by_text("Jatketaan ilman tunnistautumista.").wait_for()
    assert outside.blocked == []
    context.close()


def test_a_guardian_acts_for_a_child_under_12(browser, service_stack, desk) -> None:
    context, resident, outside, conversation_id = resident_in_live_chat(browser, service_stack, desk)
    panel = desk.locator("[data-identification]")
    desk.get_by_role("button", name="Pyydä tunnistautumista").click()
    start = resident.get_by_role("link", name=re.compile("^Tunnistaudu"))
    with context.expect_page() as opened:
        start.click()
    provider = opened.value
    provider.get_by_role("button", name=re.compile("^Aino Testinen")).click()
    # The result page asks whose matters; the register's children are offered with their ages.
    choice = provider.get_by_role("group", name="Kenen asioita hoidat tässä keskustelussa?")
    expect(choice.get_by_role("radio", name="Omia asioitani")).to_be_checked()
    veeti = choice.get_by_role("radio", name=re.compile(r"^Lapseni Veeti Testinen, \d+ v$"))
    assert choice.get_by_role("radio", name=re.compile("Ella Testinen.*arvioi ensin")).count() == 1
    assert frame_axe_violations(provider.main_frame) == []
    provider.screenshot(path=str(RESULTS / "acting-for-choice.png"), full_page=True)
    veeti.check()
    provider.get_by_role("button", name="Vahvista valinta").press("Enter")
    provider.get_by_role("heading", name="Asioit lapsesi puolesta").wait_for()
    provider.close()

    resident.bring_to_front()
    resident.locator(".message--system").filter(
        has_text="Asioit nyt lapsesi puolesta: Veeti Testinen."
    ).wait_for()
    panel.locator("[data-acting-for]").filter(has_text=re.compile("Veeti Testinen, \\d+ v")).wait_for()
    assert panel.get_by_role("button", name="Huoltaja voi asioida lapsen puolesta").count() == 0
    resident.screenshot(path=str(RESULTS / "acting-for-resident.png"), full_page=True)
    desk.screenshot(path=str(RESULTS / "acting-for-desk.png"), full_page=True)
    rows = read_database(
        service_stack["database"],
        "SELECT conversation_id, given_name, age, maturity FROM conversation_subjects",
    )
    assert len(rows) == 1 and rows[0][:2] == (conversation_id, "Veeti") and rows[0][3] is None
    for stored in Path(service_stack["dir"]).glob("handoff.db*"):
        assert VEETI_CODE.encode() not in stored.read_bytes() and b"050517" not in stored.read_bytes()
    assert "Veeti" not in Path(service_stack["log"]).read_text("utf-8", errors="replace")
    assert outside.blocked == []
    context.close()


def test_a_team_that_requires_identification_asks_while_the_resident_waits(browser, service_stack) -> None:
    desk_context, desk, desk_outside = logged_in_desk(browser, service_stack, "terkkari")
    context, resident, outside, _conversation_id = queued_resident(
        browser, service_stack, REQUIRED_TEAM, "Kysyy lapsen rokotuksista.", TOKEN
    )
    # Queued as the action server queues (the service API): the button comes with the bot's next
    # turn in a real chat, and whenever the page is opened again, as here.
    resident.reload()
    resident.locator(".message--system").filter(has_text="tarvitsee vahvan tunnistautumisen").wait_for()
    desk.locator('[data-identified="0"]').filter(has_text="Ei tunnistettu").first.wait_for()

    with context.expect_page() as opened:
        resident.get_by_role("link", name=re.compile("^Tunnistaudu")).click()
    provider = opened.value
    provider.get_by_role("button", name=re.compile("^Sanna Äijälä")).click()
    provider.get_by_role("heading", name="Olet nyt tunnistautunut").wait_for()
    provider.close()
    resident.locator(".message--system").filter(has_text="Tunnistettu: Sanna Äijälä").wait_for()
    desk.locator('[data-identified="1"]').filter(has_text="Tunnistettu").first.wait_for()  # live, no reload
    assert "Sanna" not in desk.locator("main").inner_text()  # the queue shows no name
    resident.screenshot(path=str(RESULTS / "identify-required-resident.png"), full_page=True)
    desk.screenshot(path=str(RESULTS / "identify-required-desk.png"), full_page=True)

    desk.get_by_role("button", name="Ota seuraava").first.click()
    desk.locator("[data-identification]").get_by_text("Tunnistettu: Sanna Äijälä").wait_for()
    assert outside.blocked == [] and desk_outside.blocked == []
    desk_context.close()
    context.close()
