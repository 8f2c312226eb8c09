"""End-to-end tests against real Rasa and action servers (select with ``pytest -m e2e``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.stack import MODEL, Rasa, rasa_server


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
