"""Shared secrets between Opastin's processes: from the environment, or a generated file.

In production every secret comes from the environment. On a developer's machine
a secret that is not set is generated once into a file under ``var/`` (mode
0600) and read from there, so the processes agree without configuration and
nothing secret is ever committed.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path


def shared_token(env_value: str | None, path: Path) -> str:
    """``env_value`` when set, otherwise the token in ``path``, created on first use."""
    if env_value and env_value.strip():
        return env_value.strip()
    if not path.exists():
        _create_token_file(path)
    token = path.read_text(encoding="ascii").strip()
    if not token:
        raise RuntimeError(f"{path} is empty; delete it to generate a new token")
    return token


def same_token(given: str | None, expected: str) -> bool:
    """Whether ``given`` equals ``expected``, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _create_token_file(path: Path) -> None:
    """Atomically create ``path`` (mode 0600) with a new random token.

    The token is written to a private temporary file first and then linked
    into place, so a concurrent reader never sees a half-written file and two
    processes starting at once end up with the same token.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
