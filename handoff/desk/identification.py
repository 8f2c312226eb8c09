"""Strong identification in the desk's conversation view (docs/identification.md, "In the chat").

``GET /desk/conversations/{id}/tunnistautuminen`` is the conversation's
identification panel (a fragment ``identify.js`` loads into the page and
refreshes on the socket's ``identification`` event): "Ei tunnistettu",
"Tunnistautumista pyydetty", "Tunnistettu: Etunimi Sukunimi", a clear notice
when the resident cancelled or it failed, and a warning when a different
person identified. The name is shown only to the professional holding the
chat; a queued chat's team sees "Tunnistettu" or "Ei tunnistettu". The
identity code is never shown here.

``POST /desk/conversations/{id}/tunnistautuminen`` ("Pyydä tunnistautumista",
only in a live chat the agent holds) issues a ticket for the conversation on
the server (audited) and sends the resident the "Tunnistaudu" button
(:class:`handoff.gateway.identification.ChatIdentification`).

Both exist only when identification is configured (``OIDC_ISSUER``): without
it they answer 404 and the page shows nothing of identification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from handoff import live, queue
from handoff.desk import views
from handoff.desk.auth import DeskUser
from handoff.desk.learning import DeskTools
from handoff.errors import NotFound
from handoff.gateway.hub import Gateway
from handoff.identification import service
from handoff.runtime import Services

PATH = "/conversations/{conversation_id}/tunnistautuminen"


@dataclass(frozen=True)
class IdentificationPanel:
    """What the desk shows of a conversation's identification."""

    conversation_id: str
    state: service.ChatState
    text: str
    warning: bool
    can_request: bool
    again: bool
    required: bool


def _text(state: service.ChatState, name: str | None, held: bool) -> str:
    if state == "identified":
        return (
            views.text("desk.identification.identified", name=name)
            if held and name
            else (views.text("desk.identification.identified_hidden"))
        )
    if state == "different_person":
        return views.text("desk.identification.different_person")
    return views.text(f"desk.identification.{state}")


def panel(
    session: Session, services: Services, user: DeskUser, conversation_id: str, now: datetime
) -> IdentificationPanel:
    """The conversation's identification panel, for a user of its team (Forbidden otherwise)."""
    agent = views.agent_of(session, user.agent_id)
    conversation = live.conversation_for(session, agent, conversation_id)
    held = conversation.status == queue.ACTIVE and conversation.agent_id == agent.id
    current = service.chat_state(session, conversation_id, now)
    team = services.teams.get(conversation.team_id)
    return IdentificationPanel(
        conversation_id=conversation_id,
        state=current.state,
        text=_text(current.state, current.display_name, held),
        warning=current.state in ("different_person", "cancelled", "failed"),
        can_request=held,
        again=current.state not in ("none",),
        required=team is not None and team.identification == "required",
    )


def add_identification_routes(
    router: APIRouter, tools: DeskTools, services: Services, gateway: Gateway
) -> None:
    """The panel and the request, under the desk's router (``/desk``)."""

    def enabled() -> None:
        if gateway.identification is None:
            raise NotFound("identification is not configured")

    @router.get(PATH, response_class=HTMLResponse)
    @tools.guarded
    async def identification_panel(request: Request, conversation_id: str) -> Response:
        user = await tools.require_user(request)
        enabled()
        shown = await tools.read(panel, services, user, conversation_id, services.now())
        return tools.page(request, "_identification.html", user=user, ident=shown)

    @router.post(PATH)
    @tools.guarded
    async def request_identification(request: Request, conversation_id: str) -> Response:
        user, _form = await tools.checked_form(request)
        enabled()
        assert gateway.identification is not None
        await gateway.identification.request(user.agent_id, conversation_id)
        url = f"/desk/conversations/{conversation_id}"
        return tools.done(request, url, {"conversation_id": conversation_id, "state": "requested"})
