"""The ASGI application: ``handoff.app:create_app(settings=None, clock=None)``.

The factory validates ``teams.yml`` (and refuses to build an app if it is
wrong), makes sure the service API token exists, connects the database and
starts the maintenance task (closing queues of closed teams, purging expired
data) for the lifetime of the app.

The app it returns is the chat gateway's socket.io server (path
``/socket.io``) in front of the FastAPI app, which serves everything else;
``app.api`` is the FastAPI app and ``app.gateway`` the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import socketio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from handoff import maintenance, metrics
from handoff.api import operations, public, service
from handoff.api.errors import install_error_handlers
from handoff.api.limits import BodyLimitMiddleware, StrictTransportMiddleware
from handoff.attachments.scanner import ClamdScanner
from handoff.attachments.store import ATTACHMENTS_DIR, AttachmentStore
from handoff.clock import Clock, clock_from_environment
from handoff.db import Database
from handoff.desk import mount_desk
from handoff.gateway import attachments
from handoff.gateway.hub import Gateway
from handoff.gateway.identification import ChatIdentification
from handoff.gateway.rasa import RasaClient
from handoff.identification.routes import mount_identification
from handoff.identification.vault import identity_secret
from handoff.retention import Places
from handoff.runtime import RenderedCache, Services
from handoff.settings import Settings, load_api_token
from handoff.web import mount_resident_pages
from opastin.logformat import use_json_for_configured_loggers
from opastin.logsafe import withhold_exception_messages
from opastin.teams import load_teams

logger = logging.getLogger(__name__)


async def _maintenance_loop(services: Services, gateway: Gateway, interval_s: float) -> None:
    """Run :func:`handoff.maintenance.run_once` now and then every ``interval_s`` seconds."""
    places = Places.from_settings(services.settings)
    resume_within = timedelta(minutes=services.settings.resume_minutes)
    last_purge = None
    while True:
        try:
            now = services.now()
            result = await run_in_threadpool(
                maintenance.run_once,
                services.database,
                services.teams,
                now,
                places,
                last_purge,
                resume_within,
            )
            if result.purged is not None:
                last_purge = now
                metrics.purge_done(result.purged.removed)
                logger.info("retention purge: %s", ", ".join(result.purged.lines()))
            if result.closed_conversations:
                services.public_cache.invalidate()
                logger.info("closed %d waiting conversations", len(result.closed_conversations))
                await gateway.conversations_closed(result.closed_conversations)
            if gateway.desk_sockets is not None:
                await gateway.desk_sockets.revalidate()
        except Exception:
            metrics.MAINTENANCE_FAILURES.inc()
            logger.exception("maintenance run failed")
        await asyncio.sleep(interval_s)


def _lifespan(
    services: Services, gateway: Gateway
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        interval = services.settings.maintenance_interval_s
        await gateway.start()
        task = asyncio.create_task(_maintenance_loop(services, gateway, interval)) if interval > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await gateway.stop()
            services.database.dispose()

    return lifespan


class HandoffApp(socketio.ASGIApp):  # type: ignore[misc]  # python-socketio ships no types
    """The served ASGI app: the gateway's socket.io server at ``/socket.io``, FastAPI for the rest."""

    def __init__(self, api: FastAPI, gateway: Gateway) -> None:
        super().__init__(gateway.sio, other_asgi_app=api, socketio_path="socket.io")
        self.api = api
        self.gateway = gateway

    @property
    def state(self) -> Any:
        """The FastAPI app's state (``state.services``)."""
        return self.api.state


def _attachments(gateway: Gateway, settings: Settings) -> attachments.ChatAttachments:
    assert settings.clamd_address is not None
    store = AttachmentStore(settings.var_dir / ATTACHMENTS_DIR, identity_secret(settings))
    return attachments.ChatAttachments(gateway, ClamdScanner(settings.clamd_address), store)


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, bot: RasaClient | None = None
) -> HandoffApp:
    """Build the handoff service app; raises ``TeamsConfigError`` if ``teams.yml`` is invalid.

    ``bot`` replaces the Rasa REST client (tests); by default it talks to ``RASA_URL``.
    """
    withhold_exception_messages()
    use_json_for_configured_loggers()  # OPASTIN_LOG_FORMAT=json: uvicorn configured logging already
    settings = settings or Settings.from_env()
    services = Services(
        settings=settings,
        teams=load_teams(settings.teams_file),
        database=Database(settings.database_url),
        clock=clock or clock_from_environment(),
        api_token=load_api_token(settings),
        public_cache=RenderedCache(settings.public_cache_s),
    )
    gateway = Gateway(services, bot or RasaClient(settings.rasa_url, token=settings.rasa_rest_token))
    app = FastAPI(
        title="Opastin handoff service",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan(services, gateway),
    )
    app.state.services = services
    install_error_handlers(app)
    uploads = {attachments.PATH: attachments.MAX_UPLOAD_BODY} if settings.attachments_enabled else None
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, larger=uploads)
    app.add_middleware(StrictTransportMiddleware, always=settings.secure_cookies)
    app.include_router(public.router)
    app.include_router(service.router)
    mount_resident_pages(app, services.teams, settings.resume_minutes, settings.frame_ancestors)
    mount_desk(app, services, gateway)
    identification = mount_identification(app, services)  # /tunnistautuminen/…, when OIDC_ISSUER is set
    if identification is not None:  # the chats: "Tunnistaudu" buttons, and both sides hear the outcome
        gateway.identification = ChatIdentification(gateway, identification.vault)
        identification.add_listener(gateway.identification.heard)
        if settings.attachments_enabled:  # identified residents send files: scanned, stored encrypted
            gateway.attachments = _attachments(gateway, settings)
            app.include_router(attachments.create_router(gateway.attachments))
    # /livez, /readyz (= /healthz), /metrics; the request counter outermost, so it sees every answer.
    operations.install(app, resident_sockets=lambda: len(gateway.residents.sockets))
    return HandoffApp(app, gateway)
