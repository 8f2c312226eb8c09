"""The attachment tests' clamd (tests/handoff/attachments/clamd.py), one per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.handoff.attachments.clamd import running_clamd


@pytest.fixture(scope="module")
def clamd_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The socket of a clamd of our own (never the Debian package's service), stopped after the module."""
    with running_clamd(tmp_path_factory.mktemp("clamd")) as socket:
        yield socket
