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
``OPASTIN_ENV``
    ``production`` refuses development conveniences: the test identity
    provider, a generated identity key (below).

Strong identification (OpenID Connect; docs/identification.md). Unset
``OIDC_ISSUER`` leaves identification off.

``OIDC_ISSUER``
    The identity provider's issuer identifier; its
    ``/.well-known/openid-configuration`` is read from there. In production
    it must be ``https`` and not the test provider (``idp/``).
``OIDC_CLIENT_ID``
    The service's client id at the provider. Required with ``OIDC_ISSUER``.
``OIDC_CLIENT_KEY_FILE``
    A JSON Web Key Set with the client's private keys: one signing key
    (``"use": "sig"``) for ``private_key_jwt``, and an encryption key
    (``"use": "enc"``) when the provider encrypts ID tokens. Default in
    development: ``<HANDOFF_VAR_DIR>/oidc-client-keys.json``, generated on
    first use; required in production.
``OIDC_CLAIMS``
    Which of the provider's claims hold the identity code, the given name and
    the family name: ``identity_code=...,given_name=...,family_name=...``.
    Default: ``identity_code=personal_identity_code,given_name=given_name,family_name=family_name``.
``OIDC_SCOPE``
    Scopes asked for. Default: ``openid profile personal_identity_code``.
``OIDC_REDIRECT_URI``
    The callback URL registered at the provider
    (``https://<service>/tunnistautuminen/paluu``). Default: derived from the
    request, which is right unless a proxy rewrites the host.
``OIDC_ENCRYPTED_ID_TOKENS``
    ``1``: ID tokens must be encrypted (JWE) to the client's encryption key;
    a signed-only one is refused. Default: both are accepted.
``OPASTIN_IDENTITY_KEY``
    The secret that encrypts identity codes at rest (at least 32 characters).
    When unset, generated once into ``<HANDOFF_VAR_DIR>/identity-key`` (mode
    0600); required in production when identification is configured.
``POPULATION_REGISTER_FILE``
    Guardianship relations for acting for a child (YAML; ``make run`` points
    it at the test register ``idp/population_register.yml`` in development).
    Unset: a guardian can act only for themselves. Production refuses a file
    marked ``test: true`` (docs/identification.md, "Acting for a child").
``CLAMD_ADDRESS``
    The ClamAV daemon that scans attachments: a unix socket path or
    ``tcp://host:port``. Unset: attachments are off (identified residents
    cannot send files). The county keeps its signatures fresh (freshclam).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

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


IDENTITY_CLAIMS = ("identity_code", "given_name", "family_name")
DEFAULT_OIDC_CLAIMS = {
    "identity_code": "personal_identity_code",
    "given_name": "given_name",
    "family_name": "family_name",
}
DEFAULT_OIDC_SCOPE = "openid profile personal_identity_code"
# The test identity provider of idp/ (development and tests only).
TEST_PROVIDER_PORT = 8100
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def parse_claims(text: str | None) -> dict[str, str]:
    """``OIDC_CLAIMS`` as a mapping of identity fields to the provider's claim names."""
    if not text or not text.strip():
        return dict(DEFAULT_OIDC_CLAIMS)
    mapping: dict[str, str] = {}
    for item in _comma_list(text):
        field_name, sep, claim = (part.strip() for part in item.partition("="))
        if not sep or field_name not in IDENTITY_CLAIMS or not claim or field_name in mapping:
            raise SettingsError(
                f"OIDC_CLAIMS: {item!r} is not understood; write "
                "identity_code=<claim>,given_name=<claim>,family_name=<claim>"
            )
        mapping[field_name] = claim
    missing = [name for name in IDENTITY_CLAIMS if name not in mapping]
    if missing:
        raise SettingsError(f"OIDC_CLAIMS: no claim named for {', '.join(missing)}")
    return mapping


def is_test_provider(issuer: str) -> bool:
    """Whether ``issuer`` is, or could be, the test identity provider: plain HTTP or a loopback host."""
    parts = urlsplit(issuer)
    return parts.scheme != "https" or (parts.hostname or "") in _LOOPBACK_HOSTS


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
    production: bool = False
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_key_file: Path | None = None
    oidc_claims: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_OIDC_CLAIMS))
    oidc_scope: str = DEFAULT_OIDC_SCOPE
    oidc_redirect_uri: str | None = None
    oidc_encrypted_id_tokens: bool = False
    identity_key: str | None = None
    population_register_file: Path | None = None
    clamd_address: str | None = None

    def __post_init__(self) -> None:
        for name, variable in (
            ("allowed_origins", "HANDOFF_ALLOWED_ORIGINS"),
            ("frame_ancestors", "HANDOFF_FRAME_ANCESTORS"),
        ):
            object.__setattr__(self, name, normalise_origins(variable, getattr(self, name)))
        self._check_identification()

    @property
    def attachments_enabled(self) -> bool:
        """Whether identified residents may send attachments: identification and a virus scanner."""
        return self.identification_enabled and self.clamd_address is not None

    @property
    def identification_enabled(self) -> bool:
        """Whether an identity provider is configured (``OIDC_ISSUER``)."""
        return self.oidc_issuer is not None

    def _check_identification(self) -> None:
        if self.identity_key is not None and len(self.identity_key) < 32:
            raise SettingsError("OPASTIN_IDENTITY_KEY: use at least 32 random characters")
        if self.oidc_issuer is None:
            return
        issuer = self.oidc_issuer.rstrip("/")
        object.__setattr__(self, "oidc_issuer", issuer)
        if urlsplit(issuer).scheme not in ("http", "https") or not urlsplit(issuer).hostname:
            raise SettingsError(f"OIDC_ISSUER: {issuer!r} is not an http(s) URL")
        if not self.oidc_client_id:
            raise SettingsError("OIDC_CLIENT_ID: required when OIDC_ISSUER is set")
        if set(self.oidc_claims) != set(IDENTITY_CLAIMS):
            raise SettingsError("OIDC_CLAIMS: name a claim for identity_code, given_name and family_name")
        if "openid" not in self.oidc_scope.split():
            raise SettingsError("OIDC_SCOPE: must include openid")
        if not self.production:
            return
        if is_test_provider(issuer):
            raise SettingsError(
                f"OIDC_ISSUER: {issuer!r} is the test identity provider or plain HTTP; "
                "production needs the county's real provider over https"
            )
        if self.oidc_client_key_file is None:
            raise SettingsError("OIDC_CLIENT_KEY_FILE: required in production")
        if self.identity_key is None:
            raise SettingsError("OPASTIN_IDENTITY_KEY: required in production when OIDC_ISSUER is set")

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
            production=(env.get("OPASTIN_ENV") or "").strip().lower() == "production",
            oidc_issuer=(env.get("OIDC_ISSUER") or "").strip() or None,
            oidc_client_id=(env.get("OIDC_CLIENT_ID") or "").strip() or None,
            oidc_client_key_file=(
                places.resolve(env["OIDC_CLIENT_KEY_FILE"]) if env.get("OIDC_CLIENT_KEY_FILE") else None
            ),
            oidc_claims=parse_claims(env.get("OIDC_CLAIMS")),
            oidc_scope=(env.get("OIDC_SCOPE") or "").strip() or DEFAULT_OIDC_SCOPE,
            oidc_redirect_uri=(env.get("OIDC_REDIRECT_URI") or "").strip() or None,
            oidc_encrypted_id_tokens=(env.get("OIDC_ENCRYPTED_ID_TOKENS") or "") == "1",
            identity_key=(env.get("OPASTIN_IDENTITY_KEY") or "").strip() or None,
            population_register_file=_optional_path(env.get("POPULATION_REGISTER_FILE")),
            clamd_address=(env.get("CLAMD_ADDRESS") or "").strip() or None,
        )


def _optional_path(value: str | None) -> Path | None:
    return places.resolve(value) if value else None


def load_api_token(settings: Settings | None = None) -> str:
    """Return the service API token, generating the development token file if needed.

    ``HANDOFF_API_TOKEN`` wins; otherwise the token lives in
    ``<var_dir>/handoff-api-token`` (mode 0600), created on first use. The
    action server calls this too, so both sides agree without configuration.
    """
    settings = settings or Settings.from_env()
    return shared_token(settings.api_token, settings.var_dir / places.API_TOKEN_FILE_NAME)
