"""Strong identification in the desk's conversation view (docs/identification.md, "In the chat").

``GET /desk/conversations/{id}/tunnistautuminen`` is the conversation's
identification panel (a fragment ``identify.js`` loads into the page and
refreshes on the socket's ``identification`` event): "Ei tunnistettu",
"Tunnistautumista pyydetty", "Tunnistettu: Etunimi Sukunimi", a clear notice
when the resident cancelled or it failed, and a warning when a different
person identified. Who sees what is the one access rule of
:mod:`handoff.identification.access`: the name is shown only to the
professional holding the chat; everyone else who may open the conversation
(a queued chat's team, an ended chat's reader, an administrator) sees
"Tunnistettu" or "Ei tunnistettu".

``POST /desk/conversations/{id}/henkilotunnus`` opens the identity code:
"Näytä henkilötunnus" for the holder, "Avaa henkilötunnus" with a stated
reason for everyone else. The answer is the panel with the code (and the
name) in it, for this one view; every opening is audited with its basis and
reason, and the code is never put in the page otherwise.

``POST /desk/conversations/{id}/tunnistautuminen`` ("Pyydä tunnistautumista",
only in a live chat the agent holds) issues a ticket for the conversation on
the server (audited) and sends the resident the "Tunnistaudu" button
(:class:`handoff.gateway.identification.ChatIdentification`).

Both exist only when identification is configured (``OIDC_ISSUER``): without
it they answer 404 and the page shows nothing of identification.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from handoff import consultations, live
from handoff.desk import views
from handoff.desk.auth import DeskUser
from handoff.desk.learning import DeskTools
from handoff.errors import Forbidden, NotFound
from handoff.gateway.hub import Gateway
from handoff.identification import access, guardian, service
from handoff.identification.vault import IdentityVault
from handoff.runtime import Services

PATH = "/conversations/{conversation_id}/tunnistautuminen"
CODE_PATH = "/conversations/{conversation_id}/henkilotunnus"
MATURITY_PATH = "/conversations/{conversation_id}/kypsyysarvio"


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
    may_open_code: bool = False
    needs_reason: bool = False
    code: str | None = None
    acting_for: str | None = None
    assessment: str | None = None
    assessment_pending: bool = False
    can_assess: bool = False
    child_code: str | None = None


def _acting_for(subject: guardian.Subject | None, sees_name: bool) -> tuple[str | None, str | None]:
    """The line saying for whom the guardian writes, and the maturity assessment's state."""
    if subject is None:
        return None, None
    line = (
        views.text("desk.identification.acting_for", name=subject.display_name, age=subject.age)
        if sees_name
        else views.text("desk.identification.acting_for_hidden")
    )
    if subject.maturity is None:
        return line, None
    return line, views.text(f"desk.identification.maturity.{subject.maturity}", by=subject.decided_by or "")


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
    conversation, consulting = consultations.viewable(session, agent, conversation_id)
    participating = consulting and consultations.is_participant(session, agent, conversation_id)
    rule = access.access_of(conversation.status, conversation.agent_id, agent.id, consulting, participating)
    current = service.chat_state(session, conversation_id, now)
    team = services.teams.get(conversation.team_id)
    subject = guardian.subject_of(session, conversation_id) if current.identified else None
    acting_for, assessment = _acting_for(subject, rule.sees_name)
    return IdentificationPanel(
        conversation_id=conversation_id,
        state=current.state,
        text=_text(current.state, current.display_name, rule.sees_name),
        warning=current.state in ("different_person", "cancelled", "failed"),
        can_request=rule.holds,
        again=current.state not in ("none",),
        required=team is not None and team.identification == "required",
        may_open_code=current.identified and rule.opens_code,
        needs_reason=rule.needs_reason,
        acting_for=acting_for,
        assessment=assessment,
        assessment_pending=subject is not None and subject.assessment_pending,
        can_assess=rule.holds and subject is not None and subject.maturity is not None,
    )


def opened_panel(
    session: Session,
    services: Services,
    vault: IdentityVault,
    user: DeskUser,
    conversation_id: str,
    reason: str | None,
    now: datetime,
) -> IdentificationPanel:
    """The panel with the identity code opened for ``user`` under the access rule (audited)."""
    agent = views.agent_of(session, user.agent_id)
    conversation, consulting = consultations.viewable(session, agent, conversation_id)
    participating = consulting and consultations.is_participant(session, agent, conversation_id)
    opened = access.open_identity(
        session, vault, conversation, agent.id, agent.username, reason, now, consulting, participating
    )
    shown = panel(session, services, user, conversation_id, now)
    name = views.text("desk.identification.identified", name=opened.identity.display_name)
    subject = guardian.subject_of(session, conversation_id)
    acting_for, _ = _acting_for(subject, sees_name=True)
    return dataclasses.replace(
        shown,
        text=name,
        code=opened.identity.identity_code,
        acting_for=acting_for,
        child_code=opened.child_code,
    )


def assess_maturity(
    session: Session, user: DeskUser, conversation_id: str, decision: str, now: datetime
) -> None:
    """Record the holder's maturity assessment of the child the guardian acts for (audited)."""
    agent = views.agent_of(session, user.agent_id)
    conversation = live.conversation_for(session, agent, conversation_id)
    if not access.access_of(conversation.status, conversation.agent_id, agent.id).holds:
        raise Forbidden("only the professional holding the chat assesses the child's maturity")
    guardian.decide_maturity(session, conversation_id, decision, agent.username, now)


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

    @router.post(CODE_PATH, response_class=HTMLResponse)
    @tools.guarded
    async def open_code(request: Request, conversation_id: str) -> Response:
        user, form = await tools.checked_form(request)
        enabled()
        assert gateway.identification is not None
        reason = form.get("reason")
        stated = reason if isinstance(reason, str) else None
        vault, now = gateway.identification.vault, services.now()
        shown = await tools.write(opened_panel, services, vault, user, conversation_id, stated, now)
        return tools.page(request, "_identification.html", user=user, ident=shown)

    @router.post(MATURITY_PATH)
    @tools.guarded
    async def assess(request: Request, conversation_id: str) -> Response:
        user, form = await tools.checked_form(request)
        enabled()
        decision = form.get("decision")
        chosen = decision if isinstance(decision, str) else ""
        await tools.write(assess_maturity, user, conversation_id, chosen, services.now())
        assert gateway.identification is not None
        await gateway.identification.tell_desk(user.agent_id, conversation_id, "assessed")
        url = f"/desk/conversations/{conversation_id}"
        return tools.done(request, url, {"conversation_id": conversation_id, "maturity": chosen})
