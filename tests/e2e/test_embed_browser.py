"""The chat bubble on a county's own site, in a real browser (Debian Chromium driven by Playwright).

A plain page on another origin (``http://localhost:<port>``) carries the loader
script tag of the handoff service (``http://127.0.0.1:<port>``, started with
``HANDOFF_FRAME_ANCESTORS`` naming that page's origin). Rasa is a fake that
greets, enough to see the widget in the frame connect through the service.
Checked: the bubble by keyboard alone, focus into the widget and back, the
accessible names, 360 px, reduced motion, axe-core, every request on loopback,
and a site not listed cannot frame the widget. Screenshots go to ``test-results/``.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from opastin.processes import free_port
from tests.e2e.browsers import RESULTS, OutsideRequests, frame_axe_violations, service_alone

pytestmark = pytest.mark.e2e

GREETING = "Hei! Olen Opastin. Kerro lyhyesti, missä asiassa tarvitset apua."
FRAME_TITLE = "Chat: kysy sosiaali- ja terveyspalveluista"
LOOPBACK = {"127.0.0.1", "localhost"}
COUNTY_PAGE = """<!doctype html>
<html lang="fi">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Esimerkkikunta – sosiaali- ja terveyspalvelut</title>
</head>
<body>
  <header><p><a href="/">Esimerkkikunta</a></p></header>
  <main>
    <h1>Sosiaali- ja terveyspalvelut</h1>
    <p>Kysy chatissa, niin autamme löytämään oikean palvelun.</p>
  </main>
  <script src="{service}/static/webchat/loader.js" defer></script>
</body>
</html>
"""

# The deepest focused element, through the bubble's shadow root: "bubble", a tag name or "".
DEEP_FOCUS = """() => {
  let node = document.activeElement;
  while (node && node.shadowRoot && node.shadowRoot.activeElement) node = node.shadowRoot.activeElement;
  if (!node) return "";
  return node.classList.contains("bubble") ? "bubble" : node.tagName;
}"""
PANEL_ANIMATION = """() => {
  const panel = document.querySelector("[data-opastin-chat]").shadowRoot.querySelector(".panel");
  return getComputedStyle(panel).animationName;
}"""


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve ``handler`` on a free loopback port in a thread; yield the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """No access log on the test's output."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass

    def reply(self, content_type: str, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeRasa(QuietHandler):
    """Rasa's REST channel answering every message with the greeting."""

    def do_POST(self) -> None:
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        replies = [{"recipient_id": message["sender"], "text": GREETING}]
        self.reply("application/json", json.dumps(replies).encode())


def county_site(service: str) -> type[BaseHTTPRequestHandler]:
    """A county's page with the loader script tag of ``service``."""
    page = COUNTY_PAGE.format(service=service).encode()

    class CountySite(QuietHandler):
        def do_GET(self) -> None:
            self.reply("text/html; charset=utf-8", page)

    return CountySite


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The service (framed by the county only), the county's page and a site not listed, all on loopback."""
    port = free_port()
    service = f"http://127.0.0.1:{port}"
    with (
        http_server(FakeRasa) as rasa_port,
        http_server(county_site(service)) as county_port,
        http_server(county_site(service)) as other_port,
    ):
        county = f"http://localhost:{county_port}"
        with service_alone(
            tmp_path_factory.mktemp("embed"),
            {},
            port=port,
            HANDOFF_API_TOKEN="embed-test-token-0123456789",
            RASA_URL=f"http://127.0.0.1:{rasa_port}",
            HANDOFF_FRAME_ANCESTORS=county,
        ):
            yield {"service": service, "county": county, "not_listed": f"http://127.0.0.1:{other_port}"}


class Visit:
    """A county page in a browser context of its own, with every request it makes recorded."""

    def __init__(self, browser, url: str, width: int, height: int, reduced_motion: str) -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, locale="fi-FI", reduced_motion=reduced_motion
        )
        self.outside = OutsideRequests()
        self.context.route("**/*", self.outside)
        self.urls: list[str] = []
        self.context.on("request", lambda request: self.urls.append(request.url))
        self.page = self.context.new_page()
        self.page.on("websocket", lambda socket: self.urls.append(socket.url))
        self.page.set_default_timeout(20_000)
        self.page.goto(url)
        self.page.get_by_role("button", name="Avaa chat").wait_for()

    def focused(self) -> str:
        """The focused element on the county's page ("bubble", or a tag name such as IFRAME)."""
        return str(self.page.evaluate(DEEP_FOCUS))

    def tab_to_bubble(self, key: str = "Tab") -> None:
        """Press ``key`` until the bubble has focus."""
        for _ in range(10):
            self.page.keyboard.press(key)
            if self.focused() == "bubble":
                return
        pytest.fail(f"{key} never reaches the chat bubble")

    def widget(self):
        """The frame of the widget, once its chat is connected (the fake bot's greeting shown)."""
        inside = self.page.frame_locator(f'iframe[title="{FRAME_TITLE}"]')
        inside.locator(".message--bot").filter(has_text=GREETING).wait_for()
        return self.page.locator("iframe").element_handle().content_frame()

    def hosts(self) -> set[str]:
        """Every host asked for anything."""
        return {urlsplit(url).hostname or "" for url in self.urls if not url.startswith(("data:", "blob:"))}


def heading_focused(widget) -> None:
    expect(widget.locator("#chat-heading")).to_be_focused()


def test_the_bubble_opens_the_chat_by_keyboard_and_focus_goes_in_and_back(browser, sites) -> None:
    visit = Visit(browser, sites["county"] + "/", 1280, 900, "no-preference")
    page = visit.page
    assert page.get_by_role("button", name="Avaa chat").get_attribute("aria-expanded") == "false"
    page.screenshot(path=str(RESULTS / "embed-desktop-closed.png"))

    visit.tab_to_bubble()
    page.keyboard.press("Enter")
    close = page.get_by_role("button", name="Sulje chat")
    assert close.get_attribute("aria-expanded") == "true"
    assert page.get_by_title(FRAME_TITLE).is_visible()
    widget = visit.widget()
    heading_focused(widget)
    assert visit.focused() == "IFRAME"
    assert widget.get_by_role("textbox", name="Kirjoita viestisi").is_enabled()
    assert page.evaluate(PANEL_ANIMATION) == "opastin-open"
    assert frame_axe_violations(page.main_frame) == []
    assert frame_axe_violations(widget) == []
    page.screenshot(path=str(RESULTS / "embed-desktop-open.png"))

    page.keyboard.press("Escape")  # inside the widget
    page.get_by_role("button", name="Avaa chat").wait_for()
    assert visit.focused() == "bubble"
    assert not page.get_by_title(FRAME_TITLE).is_visible()

    page.keyboard.press("Enter")  # the conversation is still there
    heading_focused(widget)
    assert widget.locator(".message--bot").filter(has_text=GREETING).count() == 1
    visit.tab_to_bubble("Shift+Tab")  # right before the widget
    page.keyboard.press("Enter")
    assert page.get_by_role("button", name="Avaa chat").get_attribute("aria-expanded") == "false"
    assert visit.focused() == "bubble"

    assert visit.outside.blocked == []
    assert visit.hosts() <= LOOPBACK, visit.hosts()
    assert any("/upotus" in url for url in visit.urls) and any("/socket.io/" in url for url in visit.urls)
    visit.context.close()


def test_on_a_360_px_screen_the_open_chat_fills_it_without_motion(browser, sites) -> None:
    visit = Visit(browser, sites["county"] + "/", 360, 740, "reduce")
    page = visit.page
    page.screenshot(path=str(RESULTS / "embed-360px-closed.png"))
    visit.tab_to_bubble()
    page.keyboard.press("Enter")
    widget = visit.widget()
    heading_focused(widget)
    bar = page.get_by_role("button", name="Sulje chat").bounding_box()
    frame = page.get_by_title(FRAME_TITLE).bounding_box()
    assert (bar["x"], bar["y"], bar["width"]) == (0, 0, 360)
    assert (frame["x"], frame["width"]) == (0, 360)
    assert frame["y"] == bar["height"] and frame["y"] + frame["height"] == 740
    assert widget.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate(PANEL_ANIMATION) == "none"
    assert frame_axe_violations(page.main_frame) == []
    assert frame_axe_violations(widget) == []
    page.screenshot(path=str(RESULTS / "embed-360px-open.png"))
    assert visit.outside.blocked == []
    assert visit.hosts() <= LOOPBACK, visit.hosts()
    visit.context.close()


def test_a_site_not_listed_cannot_frame_the_widget(browser, sites) -> None:
    with urllib.request.urlopen(sites["service"] + "/upotus", timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {sites['county']};" in policy
    assert sites["not_listed"] not in policy

    visit = Visit(browser, sites["not_listed"] + "/", 1280, 900, "no-preference")
    with visit.page.expect_console_message(lambda message: "frame-ancestors" in message.text):
        visit.page.get_by_role("button", name="Avaa chat").click()
    assert visit.page.frame_locator("iframe").locator("#opastin-chat").count() == 0
    visit.context.close()
