"""Script injection in the desk: residents' texts are shown as text; pages carry no inline script or style.

Each test fails if its protection is removed.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from handoff.db import Database
from handoff.desk import STATIC_DIR
from tests.handoff.conftest import add_agent
from tests.handoff.test_desk import SCRIPT, login, queue_resident


def test_resident_text_is_shown_as_text_never_as_markup(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    queue_resident(client, "c1", "neuvola", SCRIPT)
    login(client, "maija")
    for page in (client.get("/desk").text, client.get("/desk/conversations/c1").text):
        assert SCRIPT not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    script = (STATIC_DIR / "desk.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)
    assert "textContent" in script


def test_desk_pages_have_no_inline_scripts_or_styles(client: TestClient, db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    queue_resident(client, "c1", "neuvola")
    login(client, "maija")
    for path in ("/desk/login", "/desk", "/desk/conversations/c1", "/desk/teams/neuvola/contact-requests"):
        html = client.get(path).text
        assert '<html lang="fi">' in html
        assert not re.search(r"<script(?![^>]*\ssrc=)", html), path
        assert "style=" not in html and "<style" not in html, path
        sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
        assert all(source.startswith("/static/") for source in sources), sources
