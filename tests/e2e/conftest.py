"""End-to-end tests against real Rasa and action servers (select with ``pytest -m e2e``)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``e2e`` marker."""
    config.addinivalue_line("markers", "e2e: starts the real Rasa and action servers (slow, ~1 min)")
