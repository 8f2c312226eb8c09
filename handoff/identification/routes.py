"""The resident's identification pages: the start link and the provider's callback.

``GET /tunnistautuminen/aloita/{ticket}`` consumes the ticket (see
:mod:`handoff.identification.service`), sets a browser secret cookie and
redirects to the provider. ``GET /tunnistautuminen/paluu`` is the callback:
it consumes the login named by ``state``, exchanges the code, validates the ID
token, binds the identity to the conversation and tells the listeners (the
gateway: "Tunnistettu: Etunimi Sukunimi" to the resident and the desk). Every
refusal is a short page in Finnish that says what happened and what to do;
none names the person, and the log gets only the reason.

:func:`mount_identification` adds them to the app when ``OIDC_ISSUER`` is set,
and refuses (:class:`SettingsError`) a production service that has a team
requiring identification but no provider.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from handoff.errors import InvalidInput
from handoff.identification import guardian, service
from handoff.identification.client import OidcClient, OidcConfig
from handoff.identification.identity import FailureReason, IdentificationFailed
from handoff.identification.keys import DEV_KEY_FILE_NAME, ensure_dev_key_file, load_client_keys, public_jwks
from handoff.identification.register import FileRegister, GuardianshipRegister, RegisterError
from handoff.identification.service import CALLBACK_PATH, CHOICE_PATH, START_PATH, Outcome, PendingLogin
from handoff.identification.vault import IdentityVault, load_vault
from handoff.models import ConversationIdentity
from handoff.runtime import Services
from handoff.settings import Settings, SettingsError
from opastin import messages
from opastin.teams import Teams

logger = logging.getLogger(__name__)

BROWSER_COOKIE = "opastin_tunnistus"
JWKS_PATH = "/tunnistautuminen/jwks.json"  # the service's public keys, for the provider
COOKIE_PATH = "/tunnistautuminen"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # The callback's URL holds the code and state: never sent on to another page.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

T = TypeVar("T")


@dataclass(frozen=True)
class IdentificationEvent:
    """What happened to a conversation's identification, for the gateway and the desk.

    ``outcome`` ``identified`` and ``same_person`` carry the names to show ("Tunnistettu: Etunimi
    Sukunimi"); ``different_person`` means someone else identified in a conversation already
    identified (the first identity stays; the desk should warn); ``failed`` carries the ``reason``
    (``cancelled`` when the resident cancelled). ``acting_for`` carries the child's names (and
    ``assessment`` for a child of 12 or older), ``acting_for_self`` none. Never an identity code.
    """

    conversation_id: str
    outcome: Outcome | Literal["failed", "acting_for", "acting_for_self"]
    given_name: str | None = None
    family_name: str | None = None
    reason: FailureReason | None = None
    assessment: bool = False

    @property
    def display_name(self) -> str | None:
        """``Etunimi Sukunimi`` when identified."""
        if self.given_name is None or self.family_name is None:
            return None
        return f"{self.given_name} {self.family_name}"


Listener = Callable[[IdentificationEvent], Awaitable[None]]

# The HTTP status of each result's page; its title and text are the catalogue's
# identification.page.<result>.title/.text (data/messages/fi.yml).
_NOT_ACCEPTED = "not_accepted"
PAGES: dict[str, tuple[str, int]] = {
    "identified": ("identified", 200),
    "same_person": ("identified", 200),
    "different_person": ("different_person", 409),
    "cancelled": ("cancelled", 200),
    "unknown_ticket": ("unknown_ticket", 404),
    "ticket_used": ("ticket_used", 400),
    "expired": ("expired", 400),
    "unknown_state": ("unknown_state", 400),
    "replay": ("replay", 400),
    "other_browser": ("other_browser", 400),
    "unavailable": ("unavailable", 503),
    "conversation_closed": ("conversation_closed", 409),
    "acting_for": ("acting_for", 200),
    "acting_for_assessed": ("acting_for_assessed", 200),
    "acting_for_self": ("acting_for_self", 200),
    "choice_invalid": ("choice_invalid", 400),
    **{
        reason: (_NOT_ACCEPTED, 400)
        for reason in (
            "provider_error",
            "invalid_token",
            "bad_signature",
            "wrong_issuer",
            "wrong_audience",
            "expired_token",
            "wrong_nonce",
            "missing_claims",
        )
    },
}


def choice_form(token: str, children: Iterable[guardian.ChildOption]) -> str:
    """The guardian's choice (own matters, or a child's) for the result page, as HTML."""

    def option(value: str, label: str, checked: bool = False) -> str:
        mark = " checked" if checked else ""
        return (
            f'<p><label><input type="radio" name="subject" value="{value}"{mark}> '
            f"{html.escape(label)}</label></p>"
        )

    choices = [option(guardian.SELF, messages.text("identification.choice.self"), True)]
    for child in children:
        key = "child_assessed" if child.needs_assessment else "child"
        label = messages.text(f"identification.choice.{key}", name=child.display_name, age=child.age)
        choices.append(option(str(child.index), label))
    return f"""<form method="post" action="{CHOICE_PATH}">
<input type="hidden" name="token" value="{html.escape(token)}">
<fieldset>
<legend>{html.escape(messages.text("identification.choice.legend"))}</legend>
<p>{html.escape(messages.text("identification.choice.hint"))}</p>
{"".join(choices)}
</fieldset>
<p><button type="submit">{html.escape(messages.text("identification.choice.submit"))}</button></p>
</form>
"""


def render_page(result: str, name: str | None = None, form: str = "") -> HTMLResponse:
    """The resident's page for ``result`` (an outcome or a failure reason); ``form`` is trusted HTML."""
    page, status = PAGES[result]
    title = messages.text(f"identification.page.{page}.title")
    body = html.escape(messages.text(f"identification.page.{page}.text", name=name or ""))
    document = f"""<!doctype html>
<html lang="fi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="/static/webchat/chat.css">
</head>
<body>
<main class="result-page">
<h1>{html.escape(title)}</h1>
<p>{body}</p>
{form}<p><a href="/">{html.escape(messages.text("identification.page.back"))}</a></p>
</main>
</body>
</html>
"""
    return HTMLResponse(document, status_code=status, headers=HEADERS)


class Identification:
    """The running identification: the OpenID Connect client, the vault and the listeners."""

    def __init__(
        self,
        services: Services,
        client: OidcClient,
        vault: IdentityVault,
        register: GuardianshipRegister | None = None,
    ) -> None:
        self.services = services
        self.client = client
        self.vault = vault
        self.register = register
        self.listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every :class:`IdentificationEvent` (the gateway tells both sides)."""
        self.listeners.append(listener)

    async def notify(self, event: IdentificationEvent) -> None:
        """Tell every listener; a failing listener is logged (without the event's names) and skipped."""
        for listener in self.listeners:
            try:
                await listener(event)
            except Exception:
                logger.exception("an identification listener failed (outcome %s)", event.outcome)

    async def write(self, operation: Callable[[Session], T]) -> T:
        """Run ``operation`` in a write transaction, off the event loop."""

        def run() -> T:
            with self.services.database.writing() as session:
                return operation(session)

        return await run_in_threadpool(run)


def _redirect_uri(request: Request, settings: Settings) -> str:
    return settings.oidc_redirect_uri or str(request.url_for("identification_callback"))


def create_router(identification: Identification) -> APIRouter:
    """The start and callback routes of ``identification``."""
    router = APIRouter(include_in_schema=False)
    services = identification.services

    async def start(request: Request, ticket: str) -> Response:
        try:
            metadata = await identification.client.metadata()  # before the ticket is spent
            now = services.now()
            login = await identification.write(lambda session: service.start_login(session, ticket, now))
        except IdentificationFailed as failure:
            logger.info("identification not started: %s", failure.reason)
            return render_page(failure.reason)
        url = identification.client.authorization_url(
            metadata, _redirect_uri(request, services.settings), login.state, login.nonce, login.code_verifier
        )
        response = RedirectResponse(url, status_code=303, headers=HEADERS)
        response.set_cookie(
            BROWSER_COOKIE,
            login.browser_secret,
            max_age=int(service.LOGIN_TTL.total_seconds()),
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",  # sent on the provider's top-level redirect back, not on cross-site requests
            secure=services.settings.secure_cookies or request.url.scheme == "https",
        )
        return response

    async def callback(request: Request) -> Response:
        query = request.query_params
        pending: PendingLogin | None = None
        now = services.now()

        def consume(session: Session) -> PendingLogin | IdentificationFailed:
            try:
                return service.consume_login(
                    session, query.get("state"), request.cookies.get(BROWSER_COOKIE), now
                )
            except IdentificationFailed as failure:  # a refusal changes nothing; its audit entry is kept
                service.record_failure(session, None, failure.reason, now)
                return failure

        try:
            consumed = await identification.write(consume)
            if isinstance(consumed, IdentificationFailed):
                raise consumed
            pending = consumed
            error = query.get("error")
            if error is not None:
                raise IdentificationFailed("cancelled" if error == "access_denied" else "provider_error")
            code = query.get("code")
            if not code:
                raise IdentificationFailed("provider_error", "no code")
            identity = await identification.client.identify(
                code, pending.code_verifier, _redirect_uri(request, services.settings), pending.nonce
            )
            login = pending
            outcome = await identification.write(
                lambda session: service.bind_identity(session, identification.vault, login, identity, now)
            )
        except IdentificationFailed as failure:
            logger.info("identification refused: %s", failure.reason)
            if pending is not None:
                failed, reason = pending, failure.reason
                await identification.write(
                    lambda session: service.record_failure(session, failed, reason, now)
                )
                await identification.notify(
                    IdentificationEvent(pending.conversation_id, "failed", reason=failure.reason)
                )
            response = render_page(failure.reason)
        else:
            logger.info("identification done: %s", outcome)
            shown = outcome != "different_person"
            await identification.notify(
                IdentificationEvent(
                    pending.conversation_id,
                    outcome,
                    identity.given_name if shown else None,
                    identity.family_name if shown else None,
                )
            )
            form = await choice_for(pending.conversation_id) if shown else ""
            response = render_page(outcome, identity.display_name, form)
        response.delete_cookie(BROWSER_COOKIE, path=COOKIE_PATH)
        return response

    async def choice_for(conversation_id: str) -> str:
        """The choice form when the identified resident is a guardian in the register, else ""."""
        register = identification.register
        if register is None:
            return ""
        now = services.now()

        def read(session: Session) -> str:
            children = guardian.options(session, identification.vault, register, conversation_id, now)
            stored = session.get(ConversationIdentity, conversation_id)
            if not children or stored is None:
                return ""
            token = guardian.choice_token(identification.vault, conversation_id, stored.identified_at, now)
            return choice_form(token, children)

        return await identification.write(read)

    async def choose(request: Request) -> Response:
        register = identification.register
        if register is None:
            return render_page("unknown_state")
        form = await request.form()
        token, subject = form.get("token"), form.get("subject")
        if not isinstance(token, str) or not isinstance(subject, str):
            return render_page("unknown_state")
        now = services.now()
        vault = identification.vault
        try:
            chosen = await identification.write(
                lambda session: guardian.choose(session, vault, register, token, subject, now)
            )
        except IdentificationFailed as failure:
            logger.info("acting for a child refused: %s", failure.reason)
            return render_page(failure.reason)
        except InvalidInput:
            return render_page("choice_invalid")
        child = chosen.child
        if child is None:
            await identification.notify(IdentificationEvent(chosen.conversation_id, "acting_for_self"))
            return render_page("acting_for_self")
        event = IdentificationEvent(
            chosen.conversation_id,
            "acting_for",
            chosen.given_name,
            chosen.family_name,
            assessment=child.needs_assessment,
        )
        await identification.notify(event)
        page = "acting_for_assessed" if child.needs_assessment else "acting_for"
        return render_page(page, child.display_name)

    async def client_keys() -> JSONResponse:
        """The public halves of the service's own keys, for the provider (``jwks_uri`` of the client)."""
        body = public_jwks(identification.client.config.keys)
        return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})

    router.add_api_route(CALLBACK_PATH, callback, methods=["GET"], name="identification_callback")
    router.add_api_route(JWKS_PATH, client_keys, methods=["GET"], name="identification_client_jwks")
    router.add_api_route(CHOICE_PATH, choose, methods=["POST"], name="identification_choice")
    router.add_api_route(START_PATH + "{ticket}", start, methods=["GET"], name="identification_start")
    return router


class RedactIdentificationPaths(logging.Filter):
    """Keeps tickets, codes and states out of the access log: ``/tunnistautuminen/…`` paths are shortened.

    uvicorn's access log records carry ``(client, method, path, version, status)``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            if path.startswith(START_PATH):
                record.args = (*args[:2], START_PATH + "…", *args[3:])
            elif path.startswith(CALLBACK_PATH):
                record.args = (*args[:2], CALLBACK_PATH, *args[3:])
        return True


_ACCESS_FILTER = RedactIdentificationPaths()


def teams_requiring_identification(teams: Teams) -> list[str]:
    """The ids of the teams whose chats require identification (``identification: required``)."""
    return [team.id for team in teams if team.identification == "required"]


def check_production(settings: Settings, teams: Teams) -> None:
    """Refuse a production service whose teams require identification when no provider is configured.

    (The test provider itself is refused by :class:`Settings`.)
    """
    if settings.production and not settings.identification_enabled:
        needing = teams_requiring_identification(teams)
        if needing:
            raise SettingsError(
                "OIDC_ISSUER: not set, but these teams require identification: "
                + ", ".join(needing)
                + " (docs/identification.md)"
            )


def build_identification(services: Services) -> Identification | None:
    """The identification of ``services``' settings, or ``None`` when ``OIDC_ISSUER`` is unset."""
    settings = services.settings
    check_production(settings, services.teams)
    if settings.oidc_issuer is None or settings.oidc_client_id is None:
        return None
    key_file = settings.oidc_client_key_file or ensure_dev_key_file(settings.var_dir / DEV_KEY_FILE_NAME)
    config = OidcConfig(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        keys=load_client_keys(key_file),
        claims=dict(settings.oidc_claims),
        scope=settings.oidc_scope,
        require_encrypted=settings.oidc_encrypted_id_tokens,
    )
    return Identification(services, OidcClient(config), load_vault(settings), load_register(settings))


def load_register(settings: Settings) -> GuardianshipRegister | None:
    """The register of ``POPULATION_REGISTER_FILE``; production refuses the test register."""
    if settings.population_register_file is None:
        return None
    try:
        register = FileRegister(settings.population_register_file)
    except RegisterError as error:
        raise SettingsError(f"POPULATION_REGISTER_FILE: {error}") from None
    if settings.production and register.test:
        raise SettingsError("POPULATION_REGISTER_FILE: the test register is not for production")
    return register


def mount_identification(
    app: FastAPI, services: Services, listeners: Iterable[Listener] = ()
) -> Identification | None:
    """Add the identification routes to ``app`` (``app.state.identification``); ``None`` when off."""
    identification = build_identification(services)
    app.state.identification = identification
    if identification is None:
        return None
    for listener in listeners:
        identification.add_listener(listener)
    app.include_router(create_router(identification))
    logging.getLogger("uvicorn.access").addFilter(_ACCESS_FILTER)  # once: the same filter object
    return identification
