"""End-to-end tests against real Rasa and action servers (select with ``pytest -m e2e``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devtools.stack import MODEL, Rasa, rasa_server
from tests.e2e.browsers import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, RESULTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``e2e`` marker."""
    config.addinivalue_line("markers", "e2e: starts the real Rasa and action servers (slow, ~1 min)")


@pytest.fixture(scope="session")
def rasa() -> Iterator[Rasa]:
    """The session's one Rasa server (its tracker API open on loopback, for the conversation
    runner); each module starts the action server it calls."""
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does) before this test")
    with rasa_server(tracker_api=True) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module (Debian's, driven by Playwright); each test opens contexts of its own.

    Per module, not per session: a live Playwright (sync API) leaves its event loop marked as
    running, which the asyncio tests of other modules would trip over.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(CHROMIUM_MISSING)
    sync_api = pytest.importorskip("playwright.sync_api")
    RESULTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
