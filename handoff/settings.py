"""Settings of the handoff service, read from the environment.

The locations it shares with the action server (runtime directory, team
catalogue, API token file) are the core's, :mod:`opastin.places`.

Environment variables:

``DATABASE_URL``
    SQLAlchemy URL; ``postgres://`` and ``postgresql://`` are accepted.
    Default: SQLite file ``<HANDOFF_VAR_DIR>/handoff.db``.
``HANDOFF_API_TOKEN``
    Bearer token of the service API. When unset, a token is generated once
    into ``<HANDOFF_VAR_DIR>/handoff-api-token`` (mode 0600) and read from there.
``TRACKER_DATABASE_URL``
    Rasa's tracker store, for the retention purge. Default: ``DATABASE_URL``
    when set (Rasa uses it too), else Rasa's SQLite file ``<HANDOFF_VAR_DIR>/rasa-tracker.db``.
``OPASTIN_OUTBOX_DIR``
    The action server's outbox of contact requests (purged with the rest).
    Default: ``var/outbox``.
``HANDOFF_TEAMS_FILE``
    The team catalogue. Default: ``data/teams.yml``.
``HANDOFF_VAR_DIR``
    Directory for runtime state. Default: ``var/`` in the project root.
``HANDOFF_MAINTENANCE_INTERVAL_S``
    Seconds between runs of the background task that closes the queues of
    teams that have closed and purges expired data. ``0`` disables it.
    Default: 60.
``HANDOFF_MAX_BODY_BYTES``
    Largest accepted request body. Default: 65536.
``HANDOFF_PUBLIC_CACHE_S``
    Seconds the rendered public status list is reused. ``0`` disables the
    cache. Default: 2.
``RASA_URL``
    Base URL of the Rasa server's REST channel. Default: ``http://127.0.0.1:5005``.
``RASA_REST_TOKEN``
    When set, sent as ``Authorization: Bearer`` to Rasa's REST channel, which
    then refuses messages without it (``rasa_addons/rest_channel.py``).
``HANDOFF_ALLOWED_ORIGINS``
    Comma-separated origins whose pages may open the chat socket besides the
    service's own (e.g. ``https://chat.example.fi``). Default: none, only the
    service's own pages.
``HANDOFF_FRAME_ANCESTORS``
    Comma-separated origins whose pages may show the resident widget
    (``/upotus``) in a frame, as the county's site does with the loader
    script. Default: none; every page refuses to be framed.

Both lists take origins only, ``scheme://host[:port]`` with ``http`` or
``https``: no path, no wildcard. Anything else stops the service with a
:class:`SettingsError` naming the variable and the value.
``REDIS_URL``
    When set, the chat gateway uses python-socketio's Redis message queue so
    that several replicas of the service relay each other's messages.
``HANDOFF_AGENT_GRACE_S``
    Seconds an agent's desk may stay disconnected before their live chats go
    back to the head of the queue. Default: 60.
``HANDOFF_RESUME_MINUTES``
    A resident's conversation can be resumed from the same browser within
    this many minutes of the last activity (always while queued or in a
    live chat). Default: 30.
``HANDOFF_SECURE_COOKIES``
    ``1`` marks the desk cookies ``Secure`` even when the service sees plain
    HTTP (behind a TLS proxy). Default: only on HTTPS requests.
``HANDOFF_METRICS_TOKEN``
    When set, ``GET /metrics`` also answers requests that carry
    ``Authorization: Bearer <token>`` (a Prometheus on another host). Without
    it, and without the token, only scrapes from this machine that came through
    no proxy are answered; everyone else gets 404 (docs/monitoring.md).
    Default: unset.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from opastin import places
from opastin.content import PROJECT_ROOT as PROJECT_ROOT  # re-exported for the service's modules
from opastin.tokens import shared_token

_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_ORIGIN = re.compile(
    rf"(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class SettingsError(ValueError):
    """A setting from the environment has a value the service cannot use."""


def normalise_origin(variable: str, value: str) -> str:
    """Return ``value`` as browsers write an origin, or raise :class:`SettingsError`.

    Accepts ``http(s)://host[:port]`` (one trailing ``/`` is dropped); scheme and
    host are lowercased and a default port is left out, as in an ``Origin`` header.
    """
    text = value.strip()
    text = text[:-1] if text.endswith("/") else text
    match = _ORIGIN.fullmatch(text.lower())
    if match is None or not 0 < int(match["port"] or 80) < 65536:
        raise SettingsError(
            f"{variable}: {value!r} is not an origin; write scheme://host[:port], "
            "e.g. https://www.kunta.fi (http or https, no path, no wildcard)"
        )
    scheme, host, port = match["scheme"], match["host"], match["port"]
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def normalise_origins(variable: str, values: Iterable[str]) -> tuple[str, ...]:
    """Each of ``values`` through :func:`normalise_origin`, without repeats."""
    return tuple(dict.fromkeys(normalise_origin(variable, value) for value in values))


def _comma_list(text: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def normalise_database_url(url: str) -> str:
    """Return ``url`` with the ``postgres://`` scheme rewritten for SQLAlchemy."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


@dataclass(frozen=True)
class Settings:
    """Runtime settings of the handoff service.

    The origin lists are normalised on construction; an invalid one raises :class:`SettingsError`.
    """

    var_dir: Path
    database_url: str
    teams_file: Path
    api_token: str | None = None
    maintenance_interval_s: float = 60.0
    max_body_bytes: int = 64 * 1024
    public_cache_s: float = 2.0
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_rest_token: str | None = None
    tracker_database_url: str | None = None
    outbox_dir: Path = PROJECT_ROOT / "var" / "outbox"
    allowed_origins: tuple[str, ...] = ()
    frame_ancestors: tuple[str, ...] = ()
    redis_url: str | None = None
    agent_grace_s: float = 60.0
    secure_cookies: bool = False
    resume_minutes: float = 30.0
    metrics_token: str | None = None

    def __post_init__(self) -> None:
        for name, variable in (
            ("allowed_origins", "HANDOFF_ALLOWED_ORIGINS"),
            ("frame_ancestors", "HANDOFF_FRAME_ANCESTORS"),
        ):
            object.__setattr__(self, name, normalise_origins(variable, getattr(self, name)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: ``os.environ``); :class:`SettingsError` if invalid."""
        env = os.environ if environ is None else environ
        var_dir = places.var_dir(env)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'handoff.db'}"
        return cls(
            var_dir=var_dir,
            database_url=normalise_database_url(database_url),
            teams_file=places.teams_file(env),
            api_token=env.get("HANDOFF_API_TOKEN") or None,
            maintenance_interval_s=float(env.get("HANDOFF_MAINTENANCE_INTERVAL_S") or 60),
            max_body_bytes=int(env.get("HANDOFF_MAX_BODY_BYTES") or 64 * 1024),
            public_cache_s=float(env.get("HANDOFF_PUBLIC_CACHE_S") or 2),
            rasa_url=(env.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
            rasa_rest_token=(env.get("RASA_REST_TOKEN") or "").strip() or None,
            tracker_database_url=normalise_database_url(
                env.get("TRACKER_DATABASE_URL")
                or env.get("DATABASE_URL")
                or f"sqlite:///{var_dir / 'rasa-tracker.db'}"
            ),
            outbox_dir=places.resolve(env.get("OPASTIN_OUTBOX_DIR") or "var/outbox"),
            allowed_origins=_comma_list(env.get("HANDOFF_ALLOWED_ORIGINS")),
            frame_ancestors=_comma_list(env.get("HANDOFF_FRAME_ANCESTORS")),
            redis_url=env.get("REDIS_URL") or None,
            agent_grace_s=float(env.get("HANDOFF_AGENT_GRACE_S") or 60),
            secure_cookies=(env.get("HANDOFF_SECURE_COOKIES") or "") == "1",
            resume_minutes=float(env.get("HANDOFF_RESUME_MINUTES") or 30),
            metrics_token=(env.get("HANDOFF_METRICS_TOKEN") or "").strip() or None,
        )


def load_api_token(settings: Settings | None = None) -> str:
    """Return the service API token, generating the development token file if needed.

    ``HANDOFF_API_TOKEN`` wins; otherwise the token lives in
    ``<var_dir>/handoff-api-token`` (mode 0600), created on first use. The
    action server calls this too, so both sides agree without configuration.
    """
    settings = settings or Settings.from_env()
    return shared_token(settings.api_token, settings.var_dir / places.API_TOKEN_FILE_NAME)
