"""Strong identification in the chat: the resident's "Tunnistaudu" button and what both sides hear.

* :meth:`ChatIdentification.request`: the professional holding a live chat asks
  ("Pyydä tunnistautumista"): a one-time ticket is issued for the conversation
  (:func:`handoff.identification.service.issue_ticket`, audited) and the
  resident gets a system message with the button, which opens
  ``/tunnistautuminen/aloita/<ticket>`` in a new tab.
* :meth:`ChatIdentification.offer_while_waiting`: a resident queued for a team
  with ``identification: required`` gets the button without asking, once.
* :meth:`ChatIdentification.heard`: the listener of the identification routes
  (``app.state.identification.add_listener``): the resident hears "Tunnistettu:
  Etunimi Sukunimi" or that it was cancelled, and the holding agent's desks get
  an ``identification`` event (``{conversation_id, state, name?}``).
* :meth:`ChatIdentification.resident_ended`: "Lopeta keskustelu" ends every
  ticket and login under way of the conversation, on the server.

The ticket travels only in the button sent live to the resident's own sockets:
the stored copy of the message (its history and the desk's log) has the text
only, so no ticket is ever stored in plain text. Names go only to that
resident's sockets and to the agent holding the chat; a queued conversation's
team is told only that something changed (its desks show "Tunnistettu" without
the name). The identity code never leaves :mod:`handoff.identification`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from handoff import live, queue
from handoff.gateway import relay, sessions
from handoff.gateway.wire import DESK, RESIDENTS, agent_room, resident_room, system_uttered
from handoff.identification import service
from handoff.identification.vault import IdentityVault
from handoff.models import Conversation
from opastin import messages
from opastin.teams import Teams

if TYPE_CHECKING:
    from handoff.gateway.hub import Gateway

EVENT = "identification"  # the desk's socket event
ROUTE = "identification"  # custom.route.type of the resident's button


class Heard(Protocol):
    """What the identification routes tell their listeners (``routes.IdentificationEvent``)."""

    @property
    def conversation_id(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def display_name(self) -> str | None: ...

    @property
    def assessment(self) -> bool: ...


def button(uttered: dict[str, Any], ticket: str) -> dict[str, Any]:
    """``uttered`` with the "Tunnistaudu" button (the start link of ``ticket``), for the live socket only."""
    custom = dict(uttered.get("custom") or {})
    custom["route"] = {
        "type": ROUTE,
        "target": service.start_path(ticket),
        "label": messages.text("gateway.identification.button"),
    }
    return {**uttered, "custom": custom}


@dataclass(frozen=True)
class Requested:
    """A ticket issued in a live chat: the stored message, and the ticket for the live button."""

    posted: relay.Posted
    ticket: str


def request(session: Session, agent_id: int, conversation_id: str, now: datetime) -> Requested:
    """The agent holding the live chat asks the resident to identify (Forbidden/NotActive otherwise)."""
    chat = live.held_chat(session, agent_id, conversation_id)
    agent = relay.load_agent(session, agent_id)
    ticket = service.issue_ticket(session, conversation_id, now, actor=agent.username)
    posted = relay.post(session, chat, live.SYSTEM, messages.text("gateway.identification.asked"), now)
    return Requested(posted, ticket)


def needs_offer(session: Session, teams: Teams, conversation_id: str, again: bool = False) -> bool:
    """Whether the conversation waits in the queue of a team that requires identification, not
    identified and never asked (``again``: asked before, e.g. a resumed page whose button is gone)."""
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != queue.WAITING:
        return False
    team = teams.get(conversation.team_id)
    if team is None or team.identification != "required":
        return False
    if service.is_identified(session, conversation_id):
        return False
    return again or not service.has_attempts(session, conversation_id)


def offer(
    session: Session, teams: Teams, conversation_id: str, now: datetime, again: bool = False
) -> str | None:
    """A ticket for a resident queued for a team that requires identification (see :func:`needs_offer`)."""
    if not needs_offer(session, teams, conversation_id, again):
        return None
    ticket = service.issue_ticket(session, conversation_id, now, actor="system")
    if not again:  # kept once in the history; a resumed page gets the button live only
        text = messages.text("gateway.identification.required")
        sessions.record_uttered(session, conversation_id, system_uttered(text), now)
    return ticket


@dataclass(frozen=True)
class Told:
    """What the resident and the holding agent are told of an identification event."""

    state: sessions.LiveState
    posted: relay.Posted | None  # the stored system message (both sides) while a professional holds it
    uttered: dict[str, Any] | None  # the resident's message while queued (stored for them only)
    desk_state: str


def _resident_text(event: Heard) -> str | None:
    if event.outcome == "acting_for":
        key = "acting_for_assessed" if event.assessment else "acting_for"
        return messages.text(f"gateway.identification.{key}", name=event.display_name or "")
    if event.outcome == "acting_for_self":
        return messages.text("gateway.identification.acting_for_self")
    if event.outcome in ("identified", "same_person"):
        return messages.text("gateway.identification.identified", name=event.display_name or "")
    if event.outcome == "different_person":
        return messages.text("gateway.identification.different_person")
    if event.reason == "conversation_closed":
        return None
    if event.reason == "cancelled":
        return messages.text("gateway.identification.cancelled")
    return messages.text("gateway.identification.failed")


def _desk_state(event: Heard) -> str:
    if event.outcome in ("acting_for", "acting_for_self"):
        return event.outcome
    if event.outcome in ("identified", "same_person"):
        return "identified"
    if event.outcome == "different_person":
        return "different_person"
    return "cancelled" if event.reason == "cancelled" else "failed"


def tell(session: Session, event: Heard, now: datetime) -> Told | None:
    """Store what the resident is told of ``event``; ``None`` when the conversation is no longer open."""
    state = sessions.live_state(session, event.conversation_id)
    text = _resident_text(event)
    if state is None or text is None:
        return None
    desk_state = _desk_state(event)
    # custom.identification: the widget retires the spent "Tunnistaudu" buttons.
    if state.status == queue.ACTIVE and state.agent_id is not None:
        chat = live.HeldChat(event.conversation_id, state.team_id, state.agent_id, "")
        extra = {"custom": {"identification": desk_state}}
        posted = relay.post(session, chat, live.SYSTEM, text, now, extra=extra)
        return Told(state, posted, None, desk_state)
    uttered = system_uttered(text, identification=desk_state)
    sessions.record_uttered(session, event.conversation_id, uttered, now)
    return Told(state, None, uttered, desk_state)


class ChatIdentification:
    """Identification in the gateway's chats (one per gateway, when ``OIDC_ISSUER`` is set); ``vault``
    opens stored identity codes for the desk under the access rule (:mod:`handoff.identification.access`)."""

    def __init__(self, hub: Gateway, vault: IdentityVault) -> None:
        self.hub = hub
        self.vault = vault

    async def request(self, agent_id: int, conversation_id: str) -> None:
        """The agent asks the resident of the live chat they hold to identify."""
        hub = self.hub
        async with hub.lock(conversation_id):
            requested = await hub.write(request, agent_id, conversation_id, hub.services.now())
            posted = requested.posted
            assert posted.uttered is not None
            await hub.sio.emit(
                "bot_uttered",
                button(posted.uttered, requested.ticket),
                room=resident_room(conversation_id),
                namespace=RESIDENTS,
            )
            await hub.sio.emit("message", posted.desk, room=agent_room(agent_id), namespace=DESK)
            await self.tell_desk(agent_id, conversation_id, "requested")

    async def offer_while_waiting(self, conversation_id: str, again: bool = False) -> None:
        """After a bot turn: a resident just queued for a team requiring identification gets the button
        (``again``: a resumed page, whose earlier button was live only, gets a new one).

        The caller holds the conversation's lock.
        """
        hub = self.hub
        teams = hub.services.teams
        if not await hub.read(needs_offer, teams, conversation_id, again):  # most bot turns
            return
        ticket = await hub.write(offer, teams, conversation_id, hub.services.now(), again)
        if ticket is None:
            return
        message = button(system_uttered(messages.text("gateway.identification.required")), ticket)
        await hub.sio.emit("bot_uttered", message, room=resident_room(conversation_id), namespace=RESIDENTS)

    async def heard(self, event: Heard) -> None:
        """An identification ended: tell the resident, and the holding agent's desks (or the queue's)."""
        hub = self.hub
        async with hub.lock(event.conversation_id):
            told = await hub.write(tell, event, hub.services.now())
            if told is None:
                return
            if told.posted is not None:
                await hub.apply(relay.Outcome(None, [told.posted]), locked=True)
            elif told.uttered is not None:
                room = resident_room(event.conversation_id)
                await hub.sio.emit("bot_uttered", told.uttered, room=room, namespace=RESIDENTS)
        agent_id = told.state.agent_id
        if told.state.status == queue.ACTIVE and agent_id is not None:
            name = event.display_name if told.desk_state == "identified" else None
            await self.tell_desk(agent_id, event.conversation_id, told.desk_state, name)
        else:
            await hub.desk_changed(told.state.team_id)  # the queue shows "Tunnistettu", no name

    async def resident_ended(self, conversation_id: str) -> None:
        """The resident ended the chat on their device: every ticket and login of it stops working."""
        await self.hub.write(service.end_pending, conversation_id, self.hub.services.now())

    async def tell_desk(
        self, agent_id: int, conversation_id: str, state: str, name: str | None = None
    ) -> None:
        """Send the agent's desks the ``identification`` event (their panel reloads)."""
        event: dict[str, Any] = {"conversation_id": conversation_id, "state": state}
        if name:
            event["name"] = name
        await self.hub.sio.emit(EVENT, event, room=agent_room(agent_id), namespace=DESK)
