"""Rasa actions that check a team's chat before a human is promised: offer, join, decline, hours.

Thin wrappers: the decisions and texts are in :mod:`actions.availability`, the
HTTP calls in :mod:`actions.handoff_client`. Each action takes the client and
the clock as constructor arguments so tests can run it against a real
handoff service app at a fixed moment.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import transcript
from actions.availability import (
    ACCEPTING,
    Contacts,
    Offer,
    alternatives_text,
    form_button,
    hours_answer,
    hours_overview,
    queued_text,
    refused_offer,
    route_extra,
    team_offer,
    unavailable_offer,
)
from actions.context import latest_team, team_after_emergencies, turn_texts
from actions.handoff_client import (
    HandoffClient,
    HandoffServiceError,
    Refused,
    ServiceUnavailable,
    shared_client,
)
from actions.routing import (
    Reply,
    Route,
    addresses_the_service,
    asks_where,
    find_team,
    has_any_word,
    page_route,
    route_reply,
    thanks_in,
)
from opastin import messages
from opastin.clock import clock_from_environment
from opastin.finnish_time import HELSINKI
from opastin.routes import RouteTable, default_routes
from opastin.teams import Team

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ClientFactory = Callable[[], HandoffClient]


_NOW = clock_from_environment()


def helsinki_now() -> datetime:
    """The current moment in Helsinki time (``OPASTIN_CLOCK_START`` may set it in development)."""
    return _NOW().astimezone(HELSINKI)


def local_team(team_id: str) -> Team:
    """A team as the catalogue describes it, read without asking the service (works when it is down)."""
    return default_routes().teams[team_id]


def local_contacts(team_id: str) -> Contacts:
    """A team's phone and web page without asking the service."""
    team = local_team(team_id)
    return Contacts(team.phone, team.web_url)


def buttons(options: Any) -> list[dict[str, str]]:
    """Rasa buttons from (title, payload) pairs."""
    return [{"title": title, "payload": payload} for title, payload in options]


def send_offer(dispatcher: CollectingDispatcher, offer: Offer) -> None:
    """Send an offer's text and buttons."""
    dispatcher.utter_message(text=offer.text, buttons=buttons(offer.buttons))


def unsaid(offer: Callable[[bool], Offer], again: bool, said_before: frozenset[str]) -> Offer:
    """The offer in the wording ``again`` asks for, or in the other one when its text was just said."""
    chosen = offer(again)
    return offer(not again) if chosen.text in said_before else chosen


def send_team_route(
    dispatcher: CollectingDispatcher,
    route: Route,
    routes: RouteTable,
    client: ClientFactory,
    now: datetime,
    *,
    again: bool = False,
    lead: Reply | None = None,
    said_before: frozenset[str] = frozenset(),
) -> list[EventType]:
    """State a team route with its live availability, then offer the queue or the alternatives.

    ``again``: the bot's previous turn offered the same team, so the offer is worded
    anew and moves on; an offer whose text is in ``said_before`` (the previous turn)
    takes the other wording. ``lead`` replaces the route's own first sentence (after an answer).
    """
    reply = lead or route_reply(route, routes)
    chat = routes.teams[route.target].chat
    try:
        status = client().team_status(route.target)
    except HandoffServiceError as error:
        logger.warning("team status of %s failed: %s", route.target, error)
        contacts = local_contacts(route.target)
        offer = unsaid(lambda anew: unavailable_offer(contacts, again=anew), again, said_before)
        payload = route.payload()
    else:
        offer = unsaid(lambda anew: team_offer(chat, status, now, again=anew), again, said_before)
        payload = Route(route.type, route.target, {**route.extra, **route_extra(status)}).payload()
    dispatcher.utter_message(response=reply.response, json_message=payload, **reply.values)
    send_offer(dispatcher, offer)
    return [
        SlotSet("route_type", route.type),
        SlotSet("route_target", route.target),
        SlotSet("team_availability", offer.kind),
    ]


class EscalationAction(Action, ABC):  # type: ignore[misc]  # rasa-sdk ships no types
    """An action with an injectable handoff client factory and clock (abstract: not registered itself)."""

    def __init__(self, client_factory: ClientFactory = shared_client, clock: Clock = helsinki_now) -> None:
        self.client_factory = client_factory
        self.clock = clock

    @abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    def client(self) -> HandoffClient:
        """The handoff client; :class:`ServiceUnavailable` when it cannot be made."""
        try:
            return self.client_factory()
        except Exception as error:  # a missing token file or bad URL must not break the conversation
            logger.exception("cannot create the handoff client")
            raise ServiceUnavailable(f"cannot create the handoff client: {error!r}") from error


def conversation_team(tracker: Tracker) -> str | None:
    """The team the conversation is about: the latest team offered, else the latest team route (slot)."""
    team = latest_team(tracker.events)
    if team is None and tracker.get_slot("route_type") == "team":
        team = tracker.get_slot("route_target")
    return team if team in default_routes().teams else None


class ActionJoinQueue(EscalationAction):
    """Queue the resident for the team the answer names ("joo sinne sosiaalityöhön jonoon"), else the
    team of the latest route, with a summary and the bot transcript."""

    def name(self) -> str:
        return "action_join_queue"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        routes = default_routes()
        text = str((tracker.latest_message or {}).get("text") or "")
        team = find_team(text, routes) or conversation_team(tracker)
        if team is None:
            dispatcher.utter_message(response="utter_ask_how_can_help")
            return []
        chat = routes.teams[team].chat
        try:
            ticket = self.client().create_handoff(
                tracker.sender_id,
                team,
                transcript.summary(tracker.events),
                transcript.transcript(tracker.events),
            )
        except Refused as refusal:
            if refusal.code == "already_queued":
                dispatcher.utter_message(text=messages.text("bot.availability.already_queued"))
                return [SlotSet("handoff_status", "queued")]
            offered = tracker.get_slot("team_availability")
            if refusal.code in _NOT_TAKING and offered != ACCEPTING:
                said_before = turn_texts(tracker.events)
                again = offered is not None
                return self._not_taking(dispatcher, refusal.code, team, chat, again, said_before)
            send_offer(dispatcher, refused_offer(chat, refusal.code, local_contacts(team)))
            return [SlotSet("handoff_status", refusal.code)]
        except HandoffServiceError as error:
            logger.warning("handoff to %s failed: %s", team, error)
            send_offer(dispatcher, unavailable_offer(local_contacts(team)))
            return [SlotSet("handoff_status", "unavailable")]
        queued = Route("team", team, {"label": routes.teams[team].name, "queued": True}).payload()
        said = queued_text(ticket.position, ticket.estimated_wait_s)
        if thanks_in(text):
            dispatcher.utter_message(response="utter_you_are_welcome_short")  # "kiitos, jään jonoon"
        dispatcher.utter_message(text=said, json_message=queued)
        return [SlotSet("handoff_status", "queued")]

    def _not_taking(
        self,
        dispatcher: CollectingDispatcher,
        code: str,
        team: str,
        chat: str,
        again: bool,
        said_before: frozenset[str],
    ) -> list[EventType]:
        """Asked to queue for a chat that was not offered as taking residents ("eiks mua voi vaan
        laittaa jonoon"): not "it just closed", but its state now as a route would tell it (worded
        anew when it was told before, never as the previous turn said it), and 116 117 for urgent
        health matters when every chat is closed."""
        try:
            status = self.client().team_status(team)
            anything_open = any(other.open for other in self.client().public_teams())
        except HandoffServiceError as error:
            logger.warning("team status of %s failed: %s", team, error)
            send_offer(dispatcher, unavailable_offer(local_contacts(team)))
            return [SlotSet("handoff_status", "unavailable")]
        now = self.clock()
        offer = unsaid(lambda anew: team_offer(chat, status, now, again=anew), again, said_before)
        said = offer.text if anything_open else f"{offer.text} {messages.text('bot.human.urgent_health')}"
        label = default_routes().teams[team].name
        payload = Route("team", team, {"label": label, **route_extra(status)}).payload()
        dispatcher.utter_message(text=said, buttons=buttons(offer.buttons), json_message=payload)
        return [SlotSet("handoff_status", code), SlotSet("team_availability", offer.kind)]


# The service's refusals of a queue place that say the chat does not take residents now.
_NOT_TAKING = frozenset({"team_closed", "queue_full", "nobody_present"})


class ActionDeclineQueue(Action):  # type: ignore[misc]  # rasa-sdk ships no types
    """The resident does not want to queue: the contact form, the web page and the phone number."""

    def name(self) -> str:
        return "action_decline_queue"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        team = conversation_team(tracker)
        if team is None:
            dispatcher.utter_message(response="utter_ask_how_can_help")
            return []
        said = messages.text(
            "bot.availability.declined", alternatives=alternatives_text(local_contacts(team))
        )
        dispatcher.utter_message(text=said, buttons=buttons([form_button()]))
        return []


# Words that ask about the service's chats in general ("milloin teidän chatit ylipäätään on auki").
_ALL_CHATS = frozenset({"chatit", "chatteja", "chattien", "ylipaataan", "yleensa"})
# One chat ("milloin se teidän chatti on auki" after a team was offered): that team's.
_ONE_CHAT = frozenset({"chat", "chatti", "chatin", "chattia", "chatissa", "chattiin"})


def asks_about_all_chats(text: str) -> bool:
    """Whether a question about chat hours is about the service's chats rather than one team's."""
    if has_any_word(_ALL_CHATS, text):
        return True
    return addresses_the_service(text, default_routes()) and not has_any_word(_ONE_CHAT, text)


def send_chat_hours_page(dispatcher: CollectingDispatcher, routes: RouteTable) -> None:
    """The page of every chat's hours and exceptions such as public holidays, after the hours given."""
    page = routes.pages["chat_hours"]
    dispatcher.utter_message(
        response="utter_chat_hours_page",
        json_message=page_route(page).payload(),
        url=page.url,
        label=page.label,
    )


class ActionChatHours(EscalationAction):
    """Answer "milloin neuvolan chat on auki?" from the team's live status, or list all chats.

    Without a team in the question, the team the conversation is about is meant
    ("monelta se chat aukee?"); with none, every chat is listed, which also tells
    honestly whether anyone can chat now (the person payload).
    """

    def name(self) -> str:
        return "action_chat_hours"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        routes = default_routes()
        text = (tracker.latest_message or {}).get("text") or ""
        # After the crisis answer, "onks teillä joku chatti mihin vois kirjottaa huomenna" means the team
        # that helps on after it.
        in_view = conversation_team(tracker) or team_after_emergencies(tracker.events, routes)
        team = find_team(text, routes) or (None if asks_about_all_chats(text) else in_view)
        try:
            client = self.client()
            if team is None:
                teams = client.public_teams()
                taking = [t.id for t in teams if t.accepting]
                kind = "offered" if taking else "nobody_free" if any(t.open for t in teams) else "none_open"
                payload = Route("person", kind, {"teams": taking}).payload()
                dispatcher.utter_message(text=hours_overview(teams, self.clock()), json_message=payload)
                send_chat_hours_page(dispatcher, routes)
                return []
            status = client.team_status(team)
        except HandoffServiceError as error:
            logger.warning("chat hours failed: %s", error)
            page = routes.pages["chat_hours"]
            dispatcher.utter_message(response="utter_page_chat_hours", url=page.url, label=page.label)
            return []
        payload = Route("team", team, {"label": routes.teams[team].name, **route_extra(status)}).payload()
        said = hours_answer(routes.teams[team].chat, status, self.clock())
        dispatcher.utter_message(text=said, json_message=payload)
        if addresses_the_service(text, routes) or asks_where(text):
            # "milloin teiän chatti aukee" after a team, "mistä mä nään ne chatin aukioloajat": that
            # team's hours, and where all are listed.
            send_chat_hours_page(dispatcher, routes)
        return []
