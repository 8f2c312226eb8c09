"""The learning loop in real processes: a resident's words the bot did not understand reach the editors'
queue masked, and leave it only as the editor's own generic example.

A resident writes, in Chromium, through the real Rasa and action server,
something the bot cannot understand (with a surname and a phone number in it),
answers the clarifying question with more it cannot understand, and ends the conversation. A
content editor, "ella", then finds it on /desk/opetus with the name and the
number masked, is refused while her example still holds a name, and approves
a generic one, all by keyboard. Checked after: the database keeps the example
and no longer the resident's words, no log holds them, axe-core finds no
WCAG 2.1 AA violation, nothing is requested from another host. Screenshots:
``test-results/learning-queue.png`` and ``learning-refused.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.stack import Rasa
from handoff import agents
from handoff.db import Database
from tests.e2e.browsers import RESULTS, bot_says, frame_axe_violations, new_page, tab_to_id
from tests.e2e.stack import running_stack, wait_for_row
from tests.handoff.live_support import PASSWORD

pytestmark = pytest.mark.e2e

UNCLEAR = "mitäs sitten tehdään kun Virtanen ei vastaa 0401234567"
MASKED = "mitäs sitten tehdään kun [nimi] ei vastaa [numero]"
AGAIN = "no entäs se toinen juttu sitten"
EXAMPLE = "mitä teen kun kukaan ei vastaa puhelimeen"


@pytest.fixture(scope="module")
def stack(rasa: Rasa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The whole stack with the content editor "ella"."""
    tmp = tmp_path_factory.mktemp("learning")
    with running_stack(rasa, tmp, {}) as running:
        database = Database(running["database"])
        try:
            with database.writing() as session:
                agents.create_agent(session, "ella", PASSWORD, datetime.now(UTC), role="editor")
        finally:
            database.dispose()
        yield {**running, "log": str(tmp / "handoff.log")}


def resident_is_not_understood(browser, url: str) -> None:
    context, page, outside = new_page(browser)
    page.goto(url + "/")
    bot_says(page, "Olen Opastin")
    for text in (UNCLEAR, AGAIN):
        page.get_by_role("textbox", name="Kirjoita viestisi").fill(text)
        page.keyboard.press("Enter")
    bot_says(page, "en vieläkään ymmärtänyt")  # the second miss: a person or the form is offered
    page.get_by_role("button", name="Lopeta keskustelu").click()
    assert outside.blocked == []
    context.close()


def test_an_editor_turns_a_misunderstood_message_into_a_generic_example(
    browser, stack: dict[str, str]
) -> None:
    resident_is_not_understood(browser, stack["url"])
    sql = "SELECT id, text FROM learning_items WHERE source = 'not_understood' ORDER BY id LIMIT 1"
    item_id, stored = wait_for_row(stack["database"], sql)
    assert stored == MASKED

    context, page, outside = new_page(browser)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(stack["url"] + "/desk/login")
    if page.evaluate("document.activeElement.id") != "username":
        tab_to_id(page, "username")
    page.keyboard.type("ella")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation(url="**/desk/opetus"):  # an editor's front page
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", level=1).inner_text() == "Opetusjono"
    quoted = page.locator("blockquote").filter(has_text=MASKED)
    assert quoted.is_visible() and "0401234567" not in page.content()
    assert frame_axe_violations(page.main_frame) == []
    page.screenshot(path=str(RESULTS / "learning-queue.png"), full_page=True)

    tab_to_id(page, f"item-{item_id}-intent")
    page.keyboard.type("out_of_scope")
    tab_to_id(page, f"item-{item_id}-example")
    page.keyboard.press("Control+A")
    page.keyboard.type("Virtanen ei vastaa puhelimeen")
    page.keyboard.press("Tab")  # to "Hyväksy esimerkki"
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Esimerkkiä ei hyväksytty, koska siinä on vielä: nimi" in alert.inner_text()
    assert page.locator(f"#item-{item_id}-example").input_value() == "Virtanen ei vastaa puhelimeen"
    assert frame_axe_violations(page.main_frame) == []
    page.screenshot(path=str(RESULTS / "learning-refused.png"), full_page=True)

    tab_to_id(page, f"item-{item_id}-example")
    page.keyboard.press("Control+A")
    page.keyboard.type(EXAMPLE)
    page.keyboard.press("Tab")
    with page.expect_navigation(url="**/desk/opetus?notice=learning_approved*"):
        page.keyboard.press("Enter")
    assert page.get_by_role("status").first.inner_text().startswith("Esimerkki on hyväksytty")
    # The refusal is answered 400 (the form was not accepted); nothing else may fail.
    assert outside.blocked == [] and [error for error in errors if "status of 400" not in error] == []
    context.close()

    reviewed = "SELECT status, text, intent, example, reviewed_by FROM learning_items WHERE id = :id"
    row = wait_for_row(stack["database"], reviewed, id=item_id)
    assert row == ("approved", None, "out_of_scope", EXAMPLE, "ella")
    log = Path(stack["log"]).read_text(encoding="utf-8", errors="replace").lower()
    assert "virtanen" not in log and "0401234567" not in log and "edellinen asia" not in log
