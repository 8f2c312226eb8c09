"""Sending a decision: a route, a short factual answer, or more on the need the conversation is about.

Every decision message carries its payload (``{"route": {"type", "target", ...}}``)
and sets the slots ``route_type`` and ``route_target``. A decision the bot's
previous turn already stated is worded anew (the team offer here, the responses
by ``rasa_addons.no_repeat``), so a follow-up never gets the same reply twice.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions_escalation import EscalationAction, helsinki_now, send_team_route
from actions.context import (
    NEED_TYPES,
    Need,
    conversation_routes,
    latest_team,
    repeats_previous,
    turn_routes,
    turn_texts,
)
from actions.routing import Reply, Route, answer_for, names_violence_help, route_reply
from opastin import messages
from opastin.routes import RouteTable, default_routes

ANSWER = "answer"
LISTEN = "action_listen"
# The keys of a team route payload that describe the team's live availability, not the route.
_LIVE_KEYS = ("open", "accepting", "queue_length", "estimated_wait_s")
# What a team need says of itself beyond the team, kept when the need is followed up.
_KEPT_KEYS = ("reason", "age")


def then_listen(events: list[EventType]) -> list[EventType]:
    """``events`` with the bot listening next, unless they already say which action runs next."""
    if any(event.get("event") == "followup" for event in events):
        return events
    return [*events, FollowupAction(LISTEN)]


def send_route(dispatcher: CollectingDispatcher, route: Route, routes: RouteTable) -> list[EventType]:
    """Send the next-step text with the route payload; return the slot events.

    Team routes go through :func:`send_decision` instead, which adds the live availability.
    """
    reply = route_reply(route, routes)
    dispatcher.utter_message(response=reply.response, json_message=route.payload(), **reply.values)
    if route.type == "emergency" and names_violence_help(route):
        dispatcher.utter_message(response="utter_emergency_violence_help")
    return [SlotSet("route_type", route.type), SlotSet("route_target", route.target)]


def team_route(team_id: str, routes: RouteTable) -> Route:
    """The route to a team of the catalogue."""
    return Route("team", team_id, {"label": routes.teams[team_id].name})


def _helps(team_id: str, routes: RouteTable) -> str:
    return messages.text("bot.helps_many" if routes.teams[team_id].plural else "bot.helps_one")


def send_team(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    route: Route,
    routes: RouteTable,
    action: EscalationAction,
    lead: Reply | None = None,
) -> list[EventType]:
    """A team route with the live offer, worded anew when the previous turn offered the same team."""
    again = repeats_previous(tracker.events, "team", route.target)
    said = turn_texts(tracker.events)
    return send_team_route(
        dispatcher, route, routes, action.client, action.clock(), again=again, lead=lead, said_before=said
    )


def send_answer(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    topic: str,
    routes: RouteTable,
    action: EscalationAction,
    team: str | None = None,
) -> list[EventType]:
    """The short factual answer ``utter_faq/<topic>``, then its team's live offer if it has one.

    ``team`` overrides the topic's team (an intent routed to a team with an answer first).
    Asked again right after the answer, the answer is not repeated: the resident is
    pointed on instead.
    """
    topic = answer_for(topic, str((tracker.latest_message or {}).get("text") or ""), routes)
    entry = routes.answers.get(topic)
    team = team or _team_offered_with(tracker, topic) or (entry.team if entry else None)
    payload = Route(ANSWER, topic).payload()
    follow_up = messages.text("bot.followup.answer_team" if team else "bot.followup.answer")
    if repeats_previous(tracker.events, ANSWER, topic) and follow_up not in turn_texts(tracker.events):
        dispatcher.utter_message(text=follow_up, json_message=payload)
    else:
        dispatcher.utter_message(response=f"utter_faq/{topic}", json_message=payload)
    if team is None:
        return [SlotSet("route_type", ANSWER), SlotSet("route_target", topic)]
    lead = Reply("utter_answer_team", {"team_name": routes.teams[team].name, "helps": _helps(team, routes)})
    return send_team(dispatcher, tracker, team_route(team, routes), routes, action, lead)


def _team_offered_with(tracker: Tracker, topic: str) -> str | None:
    """The team the bot's previous turn offered with this very answer (the dentists after "perun
    hammaslääkäriajan"): asked about again, the answer keeps that team."""
    return _team_offered_last_turn(tracker) if repeats_previous(tracker.events, ANSWER, topic) else None


def _team_offered_last_turn(tracker: Tracker) -> str | None:
    """The last team the bot's previous turn offered, if it offered one."""
    offered = [route for route in turn_routes(tracker.events) if route.get("type") == "team"]
    return str(offered[-1].get("target")) if offered else None


def send_decision(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    route: Route,
    routes: RouteTable,
    action: EscalationAction,
    intent: str | None = None,
) -> list[EventType]:
    """A routing decision; an intent with an answer (routes.yml ``answer:``) gets the answer first."""
    entry = routes.intents.get(intent or "")
    warmth = messages.catalogue().get(f"bot.warmth.{intent}", "")
    if warmth and not repeats_previous(tracker.events, route.type, route.target):
        dispatcher.utter_message(text=warmth)
    if entry is not None and entry.answer is not None and route.type == "team":
        return send_answer(dispatcher, tracker, entry.answer, routes, action, team=route.target)
    if route.type == "team":
        return send_team(dispatcher, tracker, route, routes, action)
    return send_route(dispatcher, route, routes)


def send_follow_up(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    need: Need,
    routes: RouteTable,
    action: EscalationAction,
) -> list[EventType]:
    """Stay with the need of the previous turn: its answer's next step, its team offered anew, its page."""
    if need.type == ANSWER:
        # The team offered with the answer, else the team the conversation was about before it.
        team = _team_offered_last_turn(tracker) or latest_team(tracker.events)
        return send_answer(dispatcher, tracker, need.target, routes, action, team=team)
    if need.type == "team" and need.target in routes.teams:
        route = team_route(need.target, routes)
        # A child's symptom stays one ("siis se on 3v" after "mun lapsi on valittanu korvaa").
        kept = {key: need.route[key] for key in _KEPT_KEYS if key in need.route}
        return send_team(
            dispatcher, tracker, Route("team", route.target, {**route.extra, **kept}), routes, action
        )
    extra = {key: value for key, value in need.route.items() if key not in ("type", "target", *_LIVE_KEYS)}
    return send_route(dispatcher, Route(need.type, str(need.route.get("target")), extra), routes)


FEEDBACK_FORM = "feedback_form"
RATING_DUE = "rating_due"


def conversation_had_a_route(tracker: Tracker) -> bool:
    """Whether the bot directed the resident somewhere in this conversation (a team, an answer, a page,
    the form, an emergency number, or where to reach a person)."""
    return any(
        route.get("type") in (*NEED_TYPES, "form", "emergency", "person") and route.get("target") != "confirm"
        for route in conversation_routes(tracker.events)
    )


def rating_asked(tracker: Tracker) -> bool:
    """Whether the chat's rating was already asked in this conversation."""
    return any(
        event.get("event") == "action" and event.get("name") == FEEDBACK_FORM for event in tracker.events
    )


def rating_due(tracker: Tracker) -> bool:
    """Whether the chat's rating is due: the resident was directed somewhere and it was not asked yet."""
    return conversation_had_a_route(tracker) and not rating_asked(tracker)


def say_goodbye(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Goodbye with the wish for the time of day; after the resident was directed somewhere, the
    rating is due once."""
    farewell = default_routes().farewell(helsinki_now().hour)
    if rating_due(tracker):
        dispatcher.utter_message(response="utter_goodbye_rating", farewell=farewell)
        return [SlotSet(RATING_DUE, True)]
    dispatcher.utter_message(response="utter_goodbye", farewell=farewell)
    return [SlotSet(RATING_DUE, False)]


def goodbye_then_rating(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """:func:`say_goodbye`, then the rating form at once when it is due (for a goodbye no rule
    foresees: one at the end of a message that was not understood as a whole)."""
    due = rating_due(tracker)
    events = say_goodbye(dispatcher, tracker)
    return [*events, FollowupAction(FEEDBACK_FORM)] if due else events
