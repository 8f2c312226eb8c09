"""Fixtures shared by all of Opastin's Python tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def postgres_url() -> str:
    """The URL of a throw-away PostgreSQL database (``scripts/with_postgres.sh`` sets it)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: run under scripts/with_postgres.sh (as `make test` does)")
    return url
