"""The resident's pages: the chat page ``/``, ``/tietosuoja``, ``/saavutettavuus`` and ``/upotus``.

``/upotus`` is the chat widget alone, for the county's own site: the loader
script ``/static/webchat/loader.js`` shows it in a frame. Only that page may be
framed, and only by the service itself and the origins in
``HANDOFF_FRAME_ANCESTORS``; every other page, and that one too when the list
is empty, refuses to be framed.

Templates and scripts live in ``webchat/`` (``templates/``, ``src/``, ``site.yml``);
the socket.io client comes from ``webchat/node_modules`` (installed at build
time by ``scripts/install.sh``). Nothing is loaded from another host, and the
Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from handoff.settings import PROJECT_ROOT
from opastin import messages
from opastin.teams import Teams

WEBCHAT_DIR = PROJECT_ROOT / "webchat"
SOCKET_IO_CLIENT = WEBCHAT_DIR / "node_modules" / "socket.io-client" / "dist"

EMBED_PATH = "/upotus"


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """The pages' Content-Security-Policy: all from the service itself, framed by ``frame_ancestors``."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'self'"
    )


SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def embed_headers(frame_ancestors: tuple[str, ...]) -> dict[str, str]:
    """Security headers of the widget page: framed by the service and ``frame_ancestors``, if any.

    With no ``frame_ancestors`` they are :data:`SECURITY_HEADERS` (framed by nobody).
    ``X-Frame-Options`` is left out otherwise: it cannot name other sites.
    """
    if not frame_ancestors:
        return dict(SECURITY_HEADERS)
    headers = {name: value for name, value in SECURITY_HEADERS.items() if name != "X-Frame-Options"}
    headers["Content-Security-Policy"] = content_security_policy(" ".join(("'self'", *frame_ancestors)))
    return headers


class SiteConfigError(ValueError):
    """``webchat/site.yml`` is missing a key or is not a mapping."""


@dataclass(frozen=True)
class Site:
    """The operator's texts shown on the resident pages."""

    service_name: str
    accessibility_email: str
    statement_date: str


def load_site(path: Path = WEBCHAT_DIR / "site.yml") -> Site:
    """Read and check ``webchat/site.yml``; raise :class:`SiteConfigError` naming the key."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SiteConfigError(f"{path}: expected a mapping of keys to texts")
    values = {}
    for key in ("service_name", "accessibility_email", "statement_date"):
        value = data.get(key)
        if not isinstance(value, str | int | float) or not str(value).strip():
            raise SiteConfigError(f"{path}: '{key}' must be a non-empty text")
        values[key] = str(value).strip()
    return Site(**values)


def create_router(
    teams: Teams, site: Site, resume_minutes: float = 30, frame_ancestors: tuple[str, ...] = ()
) -> APIRouter:
    """Routes of the resident pages, rendered with the teams' retention times.

    ``frame_ancestors`` are the origins (``HANDOFF_FRAME_ANCESTORS``) that may frame ``/upotus``.
    """
    templates = Jinja2Templates(directory=str(WEBCHAT_DIR / "templates"))
    catalogue = messages.catalogue()
    templates.env.globals.update(
        t=messages.text,
        language=catalogue.language,
        script_messages=json.dumps(catalogue.subset("resident.script."), ensure_ascii=False),
    )
    router = APIRouter(include_in_schema=False)
    common = {
        "service_name": site.service_name,
        "accessibility_email": site.accessibility_email,
        "statement_date": site.statement_date,
        "teams": list(teams),
        "max_retention_days": max(team.retention_days for team in teams),
        "retention": teams.retention,
        "resume_minutes": round(resume_minutes),
    }

    def page(name: str, headers: dict[str, str] = SECURITY_HEADERS) -> Callable[[Request], HTMLResponse]:
        def render(request: Request) -> HTMLResponse:
            response = templates.TemplateResponse(request, name, common)
            response.headers.update(headers)
            return response

        return render

    router.add_api_route("/", page("index.html"), methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/tietosuoja", page("tietosuoja.html"), methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(
        "/saavutettavuus", page("saavutettavuus.html"), methods=["GET"], response_class=HTMLResponse
    )
    embed = page("embed.html", embed_headers(frame_ancestors))
    router.add_api_route(EMBED_PATH, embed, methods=["GET"], response_class=HTMLResponse)
    return router


def mount_resident_pages(
    app: FastAPI, teams: Teams, resume_minutes: float = 30, frame_ancestors: tuple[str, ...] = ()
) -> None:
    """Add the resident pages and their static files to ``app``; ``frame_ancestors`` may frame ``/upotus``."""
    app.include_router(create_router(teams, load_site(), resume_minutes, frame_ancestors))
    app.mount("/static/webchat", StaticFiles(directory=WEBCHAT_DIR / "src"), name="webchat")
    app.mount("/static/vendor", StaticFiles(directory=SOCKET_IO_CLIENT, check_dir=False), name="vendor")
