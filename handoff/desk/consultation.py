"""Consultation between professionals in the desk (:mod:`handoff.consultations`).

On the conversation page of a live chat one holds: "Pyydä kollegaa
konsultoimaan" (a present colleague of any team), the consultants with
"Lopeta konsultaatio", and the consultation thread beside the chat. The invited
colleague's desk hears ``consultation`` ``{state: "invited"}`` (a notice and
the chat in their side list) and opens the conversation read-only, with the
thread. Thread messages reach the holder's and every consultant's desk at once
(``consultation`` ``{message}``); nothing of it reaches the resident or the bot.

The holder may take a consultant into the resident's chat ("Ota mukaan
keskusteluun"): the resident is told who joined, the participant's desk hears
``consultation`` ``{state: "joined"}`` and gets the reply field; "Poistu
keskustelusta" (or the holder's "Poista keskustelusta") takes them out again,
told to the resident, and they stay a consultant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from handoff import consultations
from handoff.desk import views
from handoff.desk.auth import DeskUser
from handoff.desk.learning import DeskTools
from handoff.errors import InvalidInput
from handoff.gateway import relay
from handoff.gateway.hub import Gateway
from handoff.gateway.wire import DESK, agent_room
from handoff.runtime import Services

PATH = "/conversations/{conversation_id}/konsultaatio"
EVENT = "consultation"


def _invite(
    session: Session, user: DeskUser, conversation_id: str, username: str, now: datetime
) -> dict[str, Any]:
    holder = views.agent_of(session, user.agent_id)
    consultant = consultations.invite(session, holder, conversation_id, username, now)
    return {"consultant_id": consultant.id, "by": holder.display_name}


def _write(
    session: Session, user: DeskUser, conversation_id: str, text: str, now: datetime
) -> tuple[views.Line, list[int]]:
    line = views.write_in_thread(session, user, conversation_id, text, now)
    return line, consultations.audience(session, conversation_id)


def _field(form: Any, name: str, max_length: int) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidInput(f"field {name!r} is missing or too long")
    return value.strip()


def _chosen(form: Any) -> str | None:
    """The consultant the holder chose, or ``None``: the user means themselves."""
    username = form.get("username")
    return username.strip()[:64] if isinstance(username, str) and username.strip() else None


def add_consultation_routes(
    router: APIRouter, tools: DeskTools, services: Services, gateway: Gateway
) -> None:
    """Invite, write, end: under the desk's router (``/desk``)."""

    async def tell(agent_ids: list[int], event: dict[str, Any]) -> None:
        for agent_id in agent_ids:
            await gateway.sio.emit(EVENT, event, room=agent_room(agent_id), namespace=DESK)

    @router.post(PATH)
    @tools.guarded
    async def invite(request: Request, conversation_id: str) -> Response:
        user, form = await tools.checked_form(request)
        username = _field(form, "username", 64)
        invited = await tools.write(_invite, user, conversation_id, username, services.now())
        event = {"conversation_id": conversation_id, "state": "invited", "by": invited["by"]}
        await tell([invited["consultant_id"]], event)
        url = f"/desk/conversations/{conversation_id}?notice=consultation#consultation-heading"
        return tools.done(request, url, {"conversation_id": conversation_id, "invited": username})

    @router.post(PATH + "/viestit")
    @tools.guarded
    async def write(request: Request, conversation_id: str) -> Response:
        user, form = await tools.checked_form(request)
        text = _field(form, "text", consultations.MAX_MESSAGE_LENGTH)
        line, audience = await tools.write(_write, user, conversation_id, text, services.now())
        message = {"id": line.id, "who": line.who, "at": line.at, "text": line.text}
        await tell(audience, {"conversation_id": conversation_id, "message": message})
        url = f"/desk/conversations/{conversation_id}#consultation-heading"
        return tools.done(request, url, {"conversation_id": conversation_id, "message": message})

    async def change(
        request: Request, conversation_id: str, operation: Any, state: str
    ) -> tuple[str | None, relay.ConsultationOutcome]:
        """Run a consultation change in the chat's order and tell the desks concerned."""
        user, form = await tools.checked_form(request)
        chosen = _chosen(form)
        outcome = await gateway.in_chat_order(
            conversation_id, operation, user.agent_id, conversation_id, chosen, services.now()
        )
        audience = await tools.read(consultations.audience, conversation_id)
        event = {"conversation_id": conversation_id, "state": state, "name": outcome.consultant_name}
        await tell(sorted({outcome.consultant_id, *audience}), event)
        return chosen, outcome

    @router.post(PATH + "/lopeta")
    @tools.guarded
    async def end(request: Request, conversation_id: str) -> Response:
        chosen, _ = await change(request, conversation_id, relay.end_consultation, "ended")
        url = "/desk" if chosen is None else f"/desk/conversations/{conversation_id}#consultation-heading"
        return tools.done(request, url, {"conversation_id": conversation_id, "state": "ended"})

    @router.post(PATH + "/mukaan")
    @tools.guarded
    async def join_chat(request: Request, conversation_id: str) -> Response:
        await change(request, conversation_id, relay.join_chat, "joined")
        url = f"/desk/conversations/{conversation_id}#consultation-heading"
        return tools.done(request, url, {"conversation_id": conversation_id, "state": "joined"})

    @router.post(PATH + "/poistu")
    @tools.guarded
    async def leave_chat(request: Request, conversation_id: str) -> Response:
        await change(request, conversation_id, relay.leave_chat, "left")
        url = f"/desk/conversations/{conversation_id}#consultation-heading"
        return tools.done(request, url, {"conversation_id": conversation_id, "state": "left"})
