"""Where Opastin's processes find their shared files, from the environment.

The action server and the handoff service read the same editors' files and
share one generated secret; this module is the one place that says where they
are, so that the two processes agree without importing each other.

``HANDOFF_VAR_DIR``
    Directory for runtime state. Default: ``var/`` in the project root.
``HANDOFF_TEAMS_FILE``
    The team catalogue. Default: ``data/teams.yml``.
``OPASTIN_ROUTES_FILE``
    The route table. Default: ``data/routes.yml``.
``HANDOFF_API_TOKEN``
    Bearer token of the service API. When unset, a token is generated once
    into ``<HANDOFF_VAR_DIR>/handoff-api-token`` (mode 0600) and read from there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from opastin.content import PROJECT_ROOT
from opastin.tokens import shared_token

DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_TEAMS_FILE = DATA_DIR / "teams.yml"
DEFAULT_ROUTES_FILE = DATA_DIR / "routes.yml"
API_TOKEN_FILE_NAME = "handoff-api-token"


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def resolve(path: str) -> Path:
    """``path`` relative to the project root unless it is absolute."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def var_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory of runtime state (databases, generated secrets, logs)."""
    return resolve(_env(environ).get("HANDOFF_VAR_DIR") or "var")


def teams_file(environ: Mapping[str, str] | None = None) -> Path:
    """The team catalogue in use."""
    return resolve(_env(environ).get("HANDOFF_TEAMS_FILE") or str(DEFAULT_TEAMS_FILE))


def routes_file(environ: Mapping[str, str] | None = None) -> Path:
    """The route table in use."""
    return resolve(_env(environ).get("OPASTIN_ROUTES_FILE") or str(DEFAULT_ROUTES_FILE))


def service_api_token(environ: Mapping[str, str] | None = None) -> str:
    """The handoff service API token: ``HANDOFF_API_TOKEN``, or the generated development token."""
    env = _env(environ)
    return shared_token(env.get("HANDOFF_API_TOKEN"), var_dir(env) / API_TOKEN_FILE_NAME)
