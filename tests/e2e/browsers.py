"""What the browser tests share: Chromium's place and flags, pages that block other hosts,
axe-core's WCAG 2.1 AA check, and the handoff service started alone.

The ``browser`` fixture (one Chromium per test module) is in ``conftest.py``; each test
opens contexts of its own with :func:`new_page`. Screenshots go to :data:`RESULTS`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from devtools.stack import always_open_teams, create_agents, handoff_cli, handoff_server
from opastin.processes import free_port
from tests.e2e.stack import conversation_id_of

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, FileChooser, Frame, Page, Route

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results"
AXE = ROOT / "webchat" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM_MISSING = "Chromium is missing: `scripts/system_packages.sh test` installs it (make test does)"
SERVICE_TOKEN = "browser-test-token-0123456789"


class OutsideRequests:
    """Records and blocks every request that would leave this machine."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def __call__(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()


def new_page(
    browser: Browser, width: int = 1280, height: int = 900, **options: Any
) -> tuple[BrowserContext, Page, OutsideRequests]:
    """A page in a context of its own (Finnish locale), every request to another host blocked and recorded."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fi-FI", **options)
    outside = OutsideRequests()
    context.route("**/*", outside)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page, outside


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 AA findings on ``page``, added as a script tag (the context bypasses CSP)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} elements)" for v in result["violations"]]


def frame_axe_violations(frame: Frame) -> list[str]:
    """axe-core's WCAG 2.1 AA findings in ``frame``'s document (its own frames checked on their own)."""
    frame.evaluate(AXE.read_text(encoding="utf-8"))
    options = "{runOnly: {type: 'tag', values: tags}, iframes: false}"
    result = frame.evaluate(f"(tags) => axe.run(document, {options})", WCAG_AA)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} elements)" for v in result["violations"]]


def bot_says(page: Page, pattern: str) -> None:
    """Wait until a bot's, an agent's or a system message in the chat log matches ``pattern``."""
    page.locator(".chat-log .message--bot, .chat-log .message--agent, .chat-log .message--system").filter(
        has_text=re.compile(pattern)
    ).first.wait_for()


def tab_to_id(page: Page, element_id: str, limit: int = 40) -> None:
    """Press Tab until the element ``element_id`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    pytest.fail(f"Tab never reaches #{element_id}")


def choose_by_keyboard(page: Page, attempts: int = 3) -> FileChooser:
    """Press Space on the focused file input and return the file chooser it opens.

    Headless Chromium now and then loses the keystroke that asks for the chooser; a chooser
    that is coming opens within a second, so each attempt waits a few seconds and then presses
    again, within the time one 30 s wait would take. The focus stays on the same input.
    """
    focused = page.evaluate("document.activeElement.id")
    for _ in range(attempts):
        try:
            with page.expect_file_chooser(timeout=8_000) as choosing:
                page.keyboard.press("Space")
            return choosing.value
        except PlaywrightTimeoutError:
            page.locator(f"#{focused}").focus()
    pytest.fail(f"Space on #{focused} never opened a file chooser")


@contextmanager
def service_alone(
    tmp: Path, agents: Mapping[str, str], *, port: int | None = None, **extra_env: str
) -> Iterator[dict[str, str]]:
    """The handoff service alone in ``tmp``, every team open, with ``agents`` (username → team).

    The bot's address answers nothing (a live chat needs no bot); ``extra_env`` adds to
    or overrides the service's environment (``HANDOFF_API_TOKEN``, ``RASA_URL``, OIDC_*).
    ``port`` is chosen here unless given (when its URL must be known before the start).
    Yields ``url``, ``database`` (its URL), ``dir``, ``log`` (the service's output) and
    each agent's password under the agent's username.
    """
    always_open_teams(tmp / "teams.yml")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'handoff.db'}",
        "HANDOFF_TEAMS_FILE": str(tmp / "teams.yml"),
        "HANDOFF_VAR_DIR": str(tmp),
        "HANDOFF_API_TOKEN": SERVICE_TOKEN,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",  # nobody answers: the live chat needs no bot
        **extra_env,
    }
    handoff_cli(env, "migrate")
    passwords = create_agents(env["DATABASE_URL"], agents)
    log = tmp / "handoff.log"
    with log.open("wb") as output, handoff_server(env, port or free_port(), output) as (url, _):
        yield {"url": url, "database": env["DATABASE_URL"], "dir": str(tmp), "log": str(log), **passwords}


def queued_resident(
    browser: Browser, service: Mapping[str, str], team: str, summary: str, token: str
) -> tuple:
    """A new resident's page whose conversation waits in ``team``'s queue, queued through the service
    API as the action server queues it: (context, page, outside requests, conversation id)."""
    context, page, outside = new_page(browser)
    page.goto(service["url"] + "/")
    page.locator(".message--system").first.wait_for()  # the bot does not answer; the gateway says so
    secret = page.evaluate("window.localStorage.getItem('opastin.session')")
    body = {
        "conversation_id": conversation_id_of(service["database"], secret),
        "team": team,
        "summary": summary,
        "transcript": [{"sender": "resident", "text": summary}],
    }
    response = httpx.post(
        service["url"] + "/api/service/handoffs", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    page.locator(".message--queue").first.wait_for()
    return context, page, outside, body["conversation_id"]


def logged_in_desk(browser: Browser, service: Mapping[str, str], username: str, **options: Any) -> tuple:
    """A desk page of ``username``, logged in and present in their team: (context, page, outside)."""
    context, page, outside = new_page(browser, **options)
    page.goto(service["url"] + "/desk")
    page.get_by_label("Käyttäjätunnus").fill(username)
    page.get_by_label("Salasana").fill(service[username])
    page.get_by_role("button", name="Kirjaudu").click()
    page.get_by_role("button", name=re.compile("merkitse paikallaolevaksi")).first.click()
    page.get_by_role("button", name=re.compile("merkitse poissaolevaksi")).first.wait_for()
    return context, page, outside
