"""The conversation's current need, read from the tracker's events: pure functions, no Rasa.

Every decision message carries a route payload (``{"route": {"type", "target"}}``),
so the bot's previous turn says what the conversation is about: a team, an
answer, an Omaolo assessment, a page. A follow-up ("hän asuu yksin",
"se ei suostu juomaankaan", "entä jos…") adds detail to that need; the
actions keep to it instead of asking "what can I help you with" or jumping
to whatever route the words alone would suggest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actions.availability import FORM_PAYLOAD
from opastin.finnish_text import normalise
from opastin.routes import RouteTable

# Routes a follow-up can stay with (an emergency or the form are not a "need" to refine), the
# one a turn is about first: an answer offers its team after it, and is what the turn was about.
NEED_TYPES = ("answer", "team", "omaolo", "webpage")
# Below this confidence a different route does not override the need the previous turn was about
# when the message refers back to it (see :func:`refers_back`).
STAY_BELOW_CONFIDENCE = 0.8
# Below this confidence a different route does not override that need even when the message does
# not point back: "mä en tiedä mitä tehdä" after low mood is not a new need for the family centre.
UNSURE_OF_NEW_NEED = 0.6
# A message points back when one of its first words is a back reference (routes.yml).
_FIRST_WORDS = 3


@dataclass(frozen=True)
class Need:
    """What the conversation is about: a route type (team, answer, omaolo, webpage) and its target."""

    type: str
    target: str
    route: Mapping[str, Any]


def turn_bot_events(events: Sequence[Mapping[str, Any]], turns_back: int = 1) -> list[Mapping[str, Any]]:
    """The bot's events of the turn ``turns_back`` turns before the latest message, oldest first.

    ``turns_back=0`` is the turn being answered now (what earlier actions of this turn sent).
    """
    users_seen = 0
    found: list[Mapping[str, Any]] = []
    for event in reversed(events):
        if event.get("event") == "user":
            users_seen += 1
            if users_seen > turns_back:
                break
        elif event.get("event") == "bot" and users_seen == turns_back:
            found.append(event)
    return list(reversed(found))


def _custom_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``custom`` payload a bot event carried (empty when it carried none)."""
    return (event.get("data") or {}).get("custom") or {}


def route_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The route payload a bot event carried (empty when it carried none)."""
    route = _custom_of(event).get("route")
    return route if isinstance(route, dict) else {}


# The payload key of the reply to a sent contact request (its team).
SENT_CONTACT_REQUEST = "contact_request"


def sent_contact_request(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The team of the latest contact request sent in this conversation, or ``None``."""
    for event in reversed(events):
        if event.get("event") != "bot":
            continue
        sent = _custom_of(event).get(SENT_CONTACT_REQUEST)
        if isinstance(sent, dict) and isinstance(sent.get("team"), str):
            return str(sent["team"])
    return None


def turn_routes(events: Sequence[Mapping[str, Any]], turns_back: int = 1) -> list[Mapping[str, Any]]:
    """The route payloads the bot sent in the turn ``turns_back`` turns before the latest message."""
    return [route for event in turn_bot_events(events, turns_back) if (route := route_of(event))]


def conversation_routes(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every route payload the bot sent in this conversation, oldest first."""
    return [route for event in events if event.get("event") == "bot" and (route := route_of(event))]


def form_ended_this_turn(events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a form was deactivated after the latest message (set aside for another matter)."""
    for event in reversed(events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") is None:
            return True
    return False


def turn_texts(events: Sequence[Mapping[str, Any]], turns_back: int = 1) -> frozenset[str]:
    """The texts the bot sent in the turn ``turns_back`` turns before the latest message."""
    return frozenset(str(event["text"]) for event in turn_bot_events(events, turns_back) if event.get("text"))


def form_offered_last(events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the bot's previous turn offered the contact form (its "/contact_request" button)."""
    return any(
        button.get("payload") == FORM_PAYLOAD
        for event in turn_bot_events(events)
        for button in (event.get("data") or {}).get("buttons") or []
    )


def turn_responses(events: Sequence[Mapping[str, Any]], turns_back: int = 1) -> frozenset[str]:
    """The names of the responses the bot sent in the turn ``turns_back`` turns before the latest message."""
    names = (_response_name(event) for event in turn_bot_events(events, turns_back))
    return frozenset(name for name in names if name)


def response_sent(events: Sequence[Mapping[str, Any]], name: str) -> bool:
    """Whether the bot sent the response ``name`` at any point in the conversation."""
    return any(event.get("event") == "bot" and _response_name(event) == name for event in events)


def _response_name(event: Mapping[str, Any]) -> str:
    return str((event.get("metadata") or {}).get("utter_action") or "")


def need_of(routes: Iterable[Mapping[str, Any]]) -> Need | None:
    """The need a turn's route payloads were about: its answer first, else its team, else a page or Omaolo."""
    kinds = {str(route.get("type")): route for route in routes if route.get("type") in NEED_TYPES}
    for kind in NEED_TYPES:
        if kind in kinds:
            return Need(kind, _target(kinds[kind]), kinds[kind])
    return None


def _target(route: Mapping[str, Any]) -> str:
    if route.get("type") == "omaolo":
        return str(route.get("symptom"))
    if route.get("type") == "webpage":
        return str(route.get("page"))
    return str(route.get("target"))


def latest_team(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The team the bot offered last in this conversation (its route payloads), if any."""
    for route in reversed(conversation_routes(events)):
        if route.get("type") == "team":
            return str(route.get("target"))
    return None


def is_emergency_answer(route: Mapping[str, Any]) -> bool:
    """Whether a route payload answered with an emergency's guidance (not the safety question)."""
    return route.get("type") == "emergency" and route.get("target") != "confirm"


def previous_emergency(events: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The emergency route the bot's previous turn answered with (not a safety question), if any."""
    return next((route for route in turn_routes(events, turns_back=1) if is_emergency_answer(route)), None)


def emergency_levels_answered(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """The emergency levels the bot has answered with in this conversation (not safety questions),
    oldest first."""
    levels = [str(route.get("target")) for route in conversation_routes(events) if is_emergency_answer(route)]
    return list(dict.fromkeys(levels))


def follow_up_team_of(level: str, routes: RouteTable) -> str | None:
    """The team that helps on after an emergency answer of ``level``: its first follow-up intent's
    team (routes.yml ``emergency_follow_ups``), if that intent routes to a team."""
    first = next(iter(routes.emergency_follow_ups.get(level, ())), None)
    entry = routes.intents.get(first or "")
    return entry.target if entry is not None and entry.type == "team" else None


def team_after_emergencies(events: Sequence[Mapping[str, Any]], routes: RouteTable) -> str | None:
    """The team that helps on after this conversation's emergency answers (the first level that has
    one): after the crisis answer, the mental health team."""
    helping = (follow_up_team_of(level, routes) for level in emergency_levels_answered(events))
    return next((team for team in helping if team is not None), None)


def emergency_answered(events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the bot has answered with an emergency route (or its safety question) in this conversation."""
    return any(route.get("type") == "emergency" for route in conversation_routes(events))


def earlier_ages(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ``age`` entities of the resident's earlier messages ("6v", "kuusivuotiaalla")."""
    return [
        str(entity.get("value"))
        for event in _earlier_messages(events)
        for entity in (event.get("parse_data") or {}).get("entities") or []
        if entity.get("entity") == "age"
    ]


def previous_need(events: Sequence[Mapping[str, Any]]) -> Need | None:
    """The need of the bot's previous turn, if that turn was about one."""
    return need_of(turn_routes(events, turns_back=1))


def repeats_previous(events: Sequence[Mapping[str, Any]], kind: str, target: str) -> bool:
    """Whether the bot's previous turn already stated this route (so this turn must say it anew)."""
    return any(
        route.get("type") == kind and _target(route) == target for route in turn_routes(events, turns_back=1)
    )


def earlier_texts(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the resident wrote before the latest message, oldest first."""
    return [str(event.get("text") or "") for event in _earlier_messages(events)]


def _earlier_messages(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The resident's ``user`` events before the latest one, oldest first."""
    return [event for event in events if event.get("event") == "user"][:-1]


# Pronouns that stand for a thing just talked about ("lasketaanko hammashoidon maksut siihen?").
def speaks_of_it(text: str, routes: RouteTable) -> bool:
    """Whether a message speaks of a thing just talked about with a pronoun anywhere in it ("saako
    opiskelija sitä ees?", "lasketaanko hammashoidon maksut siihen mukaan?")."""
    return bool(routes.it_words & set(normalise(text).split()))


def refers_back(text: str, routes: RouteTable) -> bool:
    """Whether a message opens by pointing back at what was discussed ("entä jos hän…", "se ei…")."""
    words = normalise(text).split()
    return any(word in routes.back_references for word in words[:_FIRST_WORDS])
