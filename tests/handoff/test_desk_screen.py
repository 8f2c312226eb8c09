"""One screen for the day: the chat list and the queues beside the open conversation (server side).

The browser side (drafts, unread counts, in-place updates, layout, axe) is
tests/e2e/test_desk_screen_browser.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from handoff.db import Database
from handoff.models import Message
from tests.handoff.conftest import FakeClock, add_agent
from tests.handoff.test_desk import SCRIPT, login, post, queue_resident


def said(db: Database, conversation_id: str, sender: str, text: str, moment) -> None:
    with db.writing() as session:
        session.add(Message(conversation_id=conversation_id, sender=sender, text=text, created_at=moment))


def side_of(page: str) -> str:
    """The page's side list (the <nav> beside the conversation)."""
    match = re.search(r'<nav class="panel one-screen__side".*?</nav>', page, re.S)
    assert match, "no side list"
    return match.group(0)


def test_the_conversation_page_lists_the_agents_chats_and_the_queues_beside_it(
    client: TestClient, db: Database, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["neuvola"])
    csrf = login(client, "maija")
    queue_resident(client, "c1", "neuvola", "Rokotus")
    queue_resident(client, "c2", "neuvola", "Ajanvaraus")
    clock.advance(minutes=4)
    queue_resident(client, "c3", "neuvola", "Imetys")
    clock.advance(minutes=3)
    assert post(client, "/desk/accept", csrf, team="neuvola", conversation_id="c1").status_code == 200
    assert post(client, "/desk/accept", csrf, team="neuvola", conversation_id="c2").status_code == 200

    page = client.get("/desk/conversations/c1").text
    side = side_of(page)
    assert 'aria-label="Omat keskustelut ja jonot"' in side
    # Both chats link to themselves; the open one is marked as the current page.
    assert re.search(r'href="/desk/conversations/c1" aria-current="page"', side)
    assert 'href="/desk/conversations/c2">' in side and "Kysyy: Ajanvaraus" in side
    # The queue: its length and the longest wait (c3 has waited 3 minutes).
    assert "Jonossa 1, pisin odotus 3 min." in side
    assert "Ota seuraava" in side
    # The skip link to the reply field of a chat one holds comes right after "Siirry sisältöön".
    assert page.index("Siirry sisältöön") < page.index('href="#reply"') < page.index("<main")
    # The fragment desk.js refreshes the list with marks the chat on screen, escaped.
    fragment = client.get("/desk/fragments/overview", params={"osa": "sivu", "nyt": "c2"}).text
    assert re.search(r'href="/desk/conversations/c2" aria-current="page"', fragment)
    assert "<html" not in fragment and "Jonossa 1, pisin odotus 3 min." in fragment
    hostile = client.get("/desk/fragments/overview", params={"osa": "sivu", "nyt": SCRIPT}).text
    assert SCRIPT not in hostile
    # The front page keeps its own overview and shares the chat list.
    front = client.get("/desk").text
    assert 'data-chat="c1"' in front and "aria-current" not in front and "Jonossa 1." in front


def test_waiting_time_counts_from_the_first_unanswered_message(
    client: TestClient, db: Database, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["neuvola"])
    csrf = login(client, "maija")
    queue_resident(client, "c1", "neuvola")
    assert post(client, "/desk/accept", csrf, team="neuvola").json() == {"conversation_id": "c1"}
    start = clock()
    said(db, "c1", "resident", "Hei", start - timedelta(minutes=1))  # before the agent's reply
    assert (
        post(client, "/desk/conversations/c1/messages", csrf, text="Hei, miten voin auttaa?").status_code
        == 200
    )
    said(db, "c1", "resident", "Kysyisin rokotuksesta", start + timedelta(minutes=1))
    said(db, "c1", "resident", "Onko aikaa?", start + timedelta(minutes=3))
    clock.advance(minutes=6)

    row = re.search(r'data-chat="c1".*?</li>', client.get("/desk").text, re.S).group(0)
    since = datetime.fromisoformat(re.search(r'data-waiting-since="([^"]*)"', row).group(1))
    assert since == start + timedelta(minutes=1)
    assert "Odottaa vastausta 5 min" in row  # from the first message after the reply, not the last

    assert post(client, "/desk/conversations/c1/messages", csrf, text="On, huomenna.").status_code == 200
    row = re.search(r'data-chat="c1".*?</li>', client.get("/desk").text, re.S).group(0)
    assert 'data-waiting-since=""' in row and "Odottaa vastausta" not in row


def test_notes_are_saved_for_the_script_and_the_residents_leaving_is_shown(
    client: TestClient, db: Database, clock: FakeClock
) -> None:
    add_agent(db, "maija", ["neuvola"])
    csrf = login(client, "maija")
    queue_resident(client, "c1", "neuvola")
    assert post(client, "/desk/accept", csrf, team="neuvola").json() == {"conversation_id": "c1"}
    saved = post(client, "/desk/conversations/c1/notes", csrf, note="Soita 131052-308T huomenna")
    assert saved.status_code == 200
    note = saved.json()["note"]
    assert note["text"] == "Soita ******-**** huomenna" and note["who"] and "klo" in note["at"]

    page = client.get("/desk/conversations/c1").text
    assert "Asukas on poistunut keskustelusta" not in page and 'data-held="1"' in page
    said(db, "c1", "system", "Asukas aloitti uuden keskustelun eikä enää näe tätä keskustelua.", clock())
    page = client.get("/desk/conversations/c1").text
    assert "Asukas on poistunut keskustelusta" in page and 'data-status="active"' in page

    assert post(client, "/desk/conversations/c1/end", csrf).status_code == 200
    page = client.get("/desk/conversations/c1").text
    assert 'data-held="0"' in page and 'data-status="ended"' in page
    assert 'href="#reply"' not in page and "Asukas on poistunut keskustelusta" not in page
