"""Rasa actions that state a routing decision, answer emergencies and handle misunderstandings.

The decisions are made by the plain functions of :mod:`actions.routing`; these
actions only read the tracker, call them and send the result. Every decision
message carries the route payload ``{"route": {"type": ..., "target": ...}}``
and sets the slots ``route_type`` and ``route_target`` for the next step
(team availability and handoff).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions_contact import FORM, reset_form_slots
from actions.actions_escalation import EscalationAction, buttons, conversation_team, local_contacts
from actions.availability import (
    ACCEPTING,
    accepting,
    nobody_to_talk_to,
    phone_line_now,
    unavailable_people_text,
)
from actions.contact_form import clean_message
from actions.context import (
    STAY_BELOW_CONFIDENCE,
    UNSURE_OF_NEW_NEED,
    Need,
    earlier_ages,
    earlier_texts,
    emergency_levels_answered,
    follow_up_team_of,
    form_ended_this_turn,
    form_offered_last,
    latest_team,
    previous_emergency,
    previous_need,
    refers_back,
    response_sent,
    route_of,
    sent_contact_request,
    speaks_of_it,
    team_after_emergencies,
    turn_routes,
    turn_texts,
)
from actions.decisions import (
    ANSWER,
    conversation_had_a_route,
    goodbye_then_rating,
    send_answer,
    send_decision,
    send_follow_up,
    send_route,
    send_team,
    team_route,
    then_listen,
)
from actions.handoff_client import HandoffServiceError, PublicTeam
from actions.routing import (
    CHILD_SYMPTOM,
    CLARIFY,
    CONFIRM_LEVEL,
    DEFAULT_EMERGENCY_LEVEL,
    EMERGENCY_INTENT,
    FALLBACK_INTENT,
    GENERAL_SYMPTOM,
    HUMAN_INTENT,
    NOT_UNDERSTOOD,
    OTHER_LANGUAGES,
    Route,
    addresses_the_service,
    announces_a_new_need,
    answer_asked,
    asks_about_a_later_hour,
    asks_about_anonymity,
    asks_about_calling,
    asks_for_a_page,
    asks_for_assessment,
    asks_for_new_help,
    asks_or_wishes,
    asks_to_be_contacted,
    asks_vaguely,
    child_symptom_in_context,
    clarify_options,
    consecutive_misses,
    decide_route,
    declines_the_assessment,
    denies_a_symptom,
    doubts_urgency,
    emergency_route,
    ends_with_thanks_and_goodbye,
    entity_values,
    find_symptom,
    find_team,
    has_any_word,
    language_suffix,
    mentions_any,
    names_no_matter,
    opens_another_matter,
    opens_with_a_new_topic,
    points_to_a_team,
    resolve_fallback,
    route_reply,
    speaks_of_later,
    speaks_of_oneself,
    symptom_route,
    talk_options,
    tells_its_own_matter,
    thanks_in,
    topic_options,
    topic_teams,
    turns_to_another_matter,
    understanding,
    wants_a_call_today,
    without_anonymity_words,
    youngest_age,
)
from opastin import messages
from opastin.finnish_text import normalise
from opastin.finnish_time import reply_promise
from opastin.routes import RouteTable, Symptom, default_routes

# The intent classifier's confidence in "emergency" above which a non-emergency answer starts with a
# reminder of 112 (the lexicon did not match, see rasa_addons.emergency.EmergencyDetector).
logger = logging.getLogger(__name__)
REMINDER_CONFIDENCE = 0.5

# Validate data/routes.yml when the action server starts, not at a resident's first message.
default_routes()


def something_else() -> tuple[str, str]:
    """The button for "none of these topics"."""
    return messages.text("bot.buttons.something_else"), "/nlu_fallback"


def ask_which_topic(
    dispatcher: CollectingDispatcher, ranking: list[dict[str, Any]], routes: RouteTable, response: str
) -> list[EventType]:
    """Ask what the matter is about, with the likely topics as buttons (route payload: clarify)."""
    options = [(label, f"/{intent}") for label, intent in clarify_options(ranking, routes)]
    dispatcher.utter_message(
        response=response, buttons=buttons([*options, something_else()]), json_message=understanding(CLARIFY)
    )
    return []


def ask_about_vague_matter(
    dispatcher: CollectingDispatcher, tracker: Tracker, routes: RouteTable
) -> list[EventType]:
    """A message that names no matter yet ("hei, mul ois kysymys hakemuksesta"): ask what it is about,
    with the classifier's likely topics as buttons."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    return ask_which_topic(dispatcher, ranking, routes, "utter_ask_how_can_help")


def person_offer(target: str, teams: list[str] | None = None) -> dict[str, Any]:
    """The payload of a person offer: ``offered`` (with the teams), ``none_open``, ``nobody_free`` or
    ``unavailable`` (the service did not answer)."""
    return Route("person", target, {"teams": teams or []}).payload()


def offer_a_person(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    routes: RouteTable,
    action: EscalationAction,
    *,
    understood: bool,
) -> None:
    """Offer a person only where one can take the resident now; otherwise say so, and what instead.

    ``understood``: the resident asked for a person (the topics of teams taking
    chats are offered); otherwise the assistant did not understand twice (the
    general teams taking chats are offered). Whatever the case: the contact form.
    When nobody can chat: the next opening, the form, the phone, 116 117 when all
    is closed, and 112. Nothing is promised when the service does not answer.
    Asked again right after the same answer, it is said anew and moves on to the form.
    """
    wanted = topic_teams(routes) if understood else list(routes.general_teams)
    marked: dict[str, str] = {} if understood else understanding(NOT_UNDERSTOOD)
    contacts = local_contacts(routes.general_teams[0])
    leave = (messages.text("bot.buttons.leave_message"), "/contact_request")
    lead = [] if understood else [messages.text("bot.human.not_understood")]
    try:
        statuses = action.client().public_teams()
    except HandoffServiceError as error:
        logger.warning("team status for a person offer failed: %s", error)
        said = " ".join([*lead, unavailable_people_text(contacts)])
        unavailable = person_offer("unavailable")
        dispatcher.utter_message(text=said, buttons=buttons([leave]), json_message={**unavailable, **marked})
        return
    taking = accepting(statuses, wanted)
    options = topic_options(routes, taking) if understood else talk_options(routes, taking)
    if options:
        intro = "bot.human.ask_topic" if understood else "bot.human.can_talk"
        if " ".join([*lead, messages.text(intro)]) in turn_texts(tracker.events):
            intro = "bot.human.ask_topic_again"
        dispatcher.utter_message(
            text=" ".join([*lead, messages.text(intro)]),
            buttons=buttons([*options, leave]),
            json_message={**person_offer("offered", taking), **marked},
        )
        return
    by_id = {status.id: status for status in statuses}
    relevant: list[PublicTeam] = [by_id[team_id] for team_id in wanted if team_id in by_id]
    target = "nobody_free" if any(team.open for team in relevant) else "none_open"
    chats = {team_id: team.chat for team_id, team in routes.teams.items()}
    said = " ".join([*lead, nobody_to_talk_to(relevant, chats, contacts, action.clock())])
    if said in turn_texts(tracker.events):
        said = messages.text(f"bot.human.{target}_again", phone=contacts.phone)
    dispatcher.utter_message(
        text=said, buttons=buttons([leave]), json_message={**person_offer(target), **marked}
    )


def offer_open_teams_instead(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    routes: RouteTable,
    action: EscalationAction,
    events: Sequence[EventType],
) -> None:
    """After a person was asked for and the team talked about cannot take the resident now (closed,
    queue full, nobody there): the topics of the teams whose chat does, if any. Nothing more when
    none does: the team's own answer already gave the next opening, the form and the phone."""
    availability = next(
        (event.get("value") for event in events if event.get("name") == "team_availability"), ACCEPTING
    )
    if availability == ACCEPTING:
        return
    try:
        statuses = action.client().public_teams()
    except HandoffServiceError as error:
        logger.warning("team status for other open teams failed: %s", error)
        return
    taking = accepting(statuses, topic_teams(routes))
    options = topic_options(routes, taking)
    if options:
        said = messages.text("bot.human.others_open")
        if said in turn_texts(tracker.events):  # asked for a person twice in a row
            said = messages.text("bot.human.others_open_again")
        dispatcher.utter_message(
            text=said,
            buttons=buttons(options),
            json_message=person_offer("offered", taking),
        )


def latest_team_topic(tracker: Tracker, routes: RouteTable) -> tuple[str, str] | None:
    """``(team id, topic label)`` the contact form is for: the team of the latest message's own intent
    ("soittakaa mulle isän omaishoidosta"), else the team the bot offered last in this conversation,
    with the topic of the latest message that led to it. What the bot said counts, not what an
    earlier follow-up's intent alone would lead to (a question about a medical statement for a
    disability services application stays with disability services)."""
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    route = routes.intents.get(intent or "")
    if route is not None and route.type == "team":
        return route.target, route.label
    team = latest_team(tracker.events)
    if team is None or team not in routes.teams:
        return None
    for event in reversed(tracker.events):
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        route = routes.intents.get(intent or "") if event.get("event") == "user" else None
        if route is not None and route.type == "team" and route.target == team:
            return team, route.label
    return team, routes.teams[team].name


def contact_form_start(tracker: Tracker, text: str, routes: RouteTable) -> list[EventType]:
    """Empty the contact form, then fill its team and topic from the message or the conversation so far.

    "jätä soittopyyntö hammashoitolaan" names the team; a request after a team
    decision ("Jätä yhteydenottopyyntö" under a closed chat) is for that team.
    """
    events = reset_form_slots()
    earlier = latest_team_topic(tracker, routes)
    named = find_team(text, routes)
    if named is not None:
        topic = earlier[1] if earlier and earlier[0] == named else routes.teams[named].name
        return [*events, SlotSet("contact_team", named), SlotSet("contact_topic", topic)]
    if earlier is not None:
        return [*events, SlotSet("contact_team", earlier[0]), SlotSet("contact_topic", earlier[1])]
    return events


def start_contact_form(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, routes: RouteTable
) -> list[EventType]:
    """Start the contact form for a message that asks to be called back, whatever else it is about."""
    decided = send_route(dispatcher, Route("form", FORM_NAME), routes)
    return [*decided, *contact_form_start(tracker, text, routes), FollowupAction(FORM)]


def possible_emergency(tracker: Tracker) -> bool:
    """Whether the classifier thought the latest message an emergency although the lexicon did not."""
    message = tracker.latest_message or {}
    if ((message.get("intent") or {}).get("name")) == EMERGENCY_INTENT:
        return False
    return any(
        item.get("name") == EMERGENCY_INTENT and (item.get("confidence") or 0.0) >= REMINDER_CONFIDENCE
        for item in message.get("intent_ranking") or []
    )


def someone_chats_now(action: EscalationAction, routes: RouteTable) -> bool:
    """Whether a team of the person topics takes residents in its chat now; ``True`` when the handoff
    service does not answer (the form asked for is then started)."""
    try:
        return bool(accepting(action.client().public_teams(), topic_teams(routes)))
    except HandoffServiceError as error:
        logger.warning("team status for a call today failed: %s", error)
        return True


def remind_of_112(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Start the answer with a reminder of 112 and 116 117 when the message might be an emergency."""
    if possible_emergency(tracker):
        dispatcher.utter_message(response="utter_emergency_reminder")


def _latest(tracker: Tracker) -> tuple[str | None, str, list[dict[str, Any]]]:
    message = tracker.latest_message or {}
    return (message.get("intent") or {}).get("name"), message.get("text") or "", message.get("entities") or []


FORM_INTENT = "contact_request"
# The page of addresses and phone numbers: asked for right after an answer, it is not the answer again.
CONTACT_PAGE = "contact_info"
FORM_NAME = "contact_request"
YES_OR_NO = "action_yes_or_no"
# The emergency level whose guidance is a nurse on the phone, not danger now: asked for a person
# after it, the people who can chat now are offered too.
URGENT_CARE_LEVEL = "116117"
SOCIAL_LEVEL = "social"
CRISIS_LEVEL = "crisis"
# After an emergency answer, asking for a person or a number is still about the emergency.
STAY_WITH_EMERGENCY = frozenset({HUMAN_INTENT, "ask_contact_info"})
# Routes that a question's own answer goes before (the answer offers their team after it).
ANSWERED_FIRST = frozenset({"team", "webpage", "omaolo"})


def emergency_again(route: Mapping[str, Any]) -> Route:
    """The emergency route of the previous turn, to be said again (in its second wording)."""
    extra = {key: value for key, value in route.items() if key not in ("type", "target")}
    return Route("emergency", str(route.get("target")), extra)


def tell_when_contacted(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, routes: RouteTable
) -> list[EventType] | None:
    """Asked after a contact request was sent when the professional gets in touch ("kuinka kauan
    yleensä kestää, ennen kuin minulle soitetaan?", routes.yml ``contact_timing_phrases``): the
    team's reply promise again with its route, not a new form; ``None`` for any other message."""
    team_id = sent_contact_request(tracker.events)
    if team_id is None or team_id not in routes.teams:
        return None
    if not mentions_any(routes.contact_timing_phrases, normalise(text)):
        return None
    team = routes.teams[team_id]
    said = messages.text(
        "bot.contact.when_sent",
        team=team.name,
        promise=reply_promise(team.reply_within_workdays),
        phone=team.phone,
    )
    route = team_route(team_id, routes)
    dispatcher.utter_message(text=said, json_message=route.payload())
    return [SlotSet("route_type", route.type), SlotSet("route_target", route.target)]


def emergency_still_meant(tracker: Tracker, text: str) -> Route | None:
    """The emergency answer to give again when a message the assistant is unsure of comes right after
    one ("pitääks sinne oikeesti soittaa keskellä yötä?" after 116 117), unless it turns to another
    matter ("okei soitan. entäs sit jatkossa…")."""
    emergency = previous_emergency(tracker.events)
    routes = default_routes()
    if emergency is None or leaves_the_emergency(text, routes):
        return None
    return emergency_again(emergency)


def urgency_doubted(tracker: Tracker, text: str, routes: RouteTable) -> Route | None:
    """The guidance to give when a message right after an emergency answer or the safety question
    asks whether one could wait or go by oneself ("voiko oottaa aamuun?" after 116 117): that answer
    again, or after the question the suspected level's guidance; waiting is not for the bot to allow."""
    if not doubts_urgency(text, routes):
        return None
    for route in turn_routes(tracker.events):
        if route.get("type") != "emergency":
            continue
        if route.get("target") != CONFIRM_LEVEL:
            return emergency_again(route)
        extra = {key: value for key, value in route.items() if key not in ("type", "target", "suspected")}
        return Route("emergency", str(route.get("suspected") or DEFAULT_EMERGENCY_LEVEL), extra)
    return None


def thanked_after_emergency(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> bool:
    """Thanks right after an emergency answer ("ok calling now, thanks", "en mä oo tekemässä mitään.
    mut kiitos et laitoit noi numerot"), acknowledged in the answer's language with its numbers once
    more rather than the whole guidance again; whether it was. A Finnish thanks that also asks
    something ("kiitos, mut pitääkö soittaa?") is left to the guidance."""
    answered = previous_emergency(tracker.events)
    if answered is None or not thanks_in(text):
        return False
    if answered.get("language") not in OTHER_LANGUAGES and "?" in text:
        return False
    acknowledge_after_emergency(dispatcher, answered, text)
    return True


def acknowledge_after_emergency(
    dispatcher: CollectingDispatcher, answered: Mapping[str, Any], text: str, unsure: bool = False
) -> list[EventType]:
    """Thanks or "ok soitan nyt" right after an emergency answer: its numbers once more in a line,
    in the answer's language, with the same route payload (the call button stays at hand).
    ``unsure``: a "no" that is no denial after the crisis answer ("en mä tiiä, en varmaan tee mitään")."""
    language = answered.get("language")
    if language in OTHER_LANGUAGES:
        response = f"utter_emergency_thanks_{language}"
    else:
        target = answered.get("target")
        kind = "thanks" if thanks_in(text) else "unsure" if unsure and target == CRISIS_LEVEL else "calling"
        response = f"utter_emergency_{kind}_{target}"
    route = emergency_again(answered)
    dispatcher.utter_message(response=response, json_message=route.payload())
    return [SlotSet("route_type", route.type), SlotSet("route_target", route.target)]


def intent_confidence(tracker: Tracker) -> float:
    """The classifier's confidence in the latest message's intent."""
    return float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0)


def asks_for_the_form(text: str, routes: RouteTable) -> bool:
    """Whether a request to be contacted right after an emergency answer is for the form rather than
    for now: it names a later time ("voisko joku soittaa mulle aamulla", "maanantaina": routes.yml
    ``follow_up_words.later`` and ``later_today``), a team or a message to leave ("haluun jättää
    vammaispalveluille viestin tästä avustaja-asiasta")."""
    return (
        speaks_of_later(text, routes)
        or has_any_word(routes.later_today_words, text)
        or find_team(text, routes) is not None
        or has_any_word(routes.message_words, text)
    )


def leaves_the_emergency(text: str, routes: RouteTable) -> bool:
    """Whether a message right after an emergency answer turns to another matter, another day or the
    writer's own matter ("no okei soitan. onks muuten joku yläraja näille maksuille", "maanantaina
    pitäis hakea…", "voiko joskus myöhemmin jutella jonkun kanssa tästä", "mullakin alko ripuli")."""
    return (
        turns_to_another_matter(text, routes)
        or speaks_of_later(text, routes)
        or opens_another_matter(text, routes)
        or speaks_of_oneself(text, routes)  # "mullakin alko nyt ripuli" after a child's 116 117
        or asks_about_a_later_hour(text, routes)
    )


def stays_with_emergency(
    emergency: Mapping[str, Any], intent: str | None, confidence: float, text: str, routes: RouteTable
) -> bool:
    """Whether a message right after an emergency answer is still about that emergency.

    A request for a person or a number; unless it turns to another matter ("muuten", "entä") or
    another day ("maanantaina"), an intent the level's follow-ups name (routes.yml
    ``emergency_follow_ups``: "en mä oo tekemässä mitään, mut ajatuksia tulee" after the crisis
    answer) or a message the classifier is unsure of (less sure still when it points back).
    """
    if intent in STAY_WITH_EMERGENCY:
        return True
    if leaves_the_emergency(text, routes):
        return False
    if emergency.get("called"):
        return False  # "onko omaisille mitään tukea" after the call was acknowledged: help is on its way
    if asks_about_calling(text):
        return True  # "voiks se ite soittaa johonki vai pitääks mun" after the social emergency answer
    if intent in routes.emergency_follow_ups.get(str(emergency.get("target")), ()):
        return True
    return confidence < (STAY_BELOW_CONFIDENCE if refers_back(text, routes) else UNSURE_OF_NEW_NEED)


def follow_up_team(emergency: Mapping[str, Any], routes: RouteTable) -> str | None:
    """The team that helps on after an emergency answer (its level's first follow-up intent's team):
    asked for a person after the crisis answer, the mental health team is offered after it."""
    return follow_up_team_of(str(emergency.get("target")), routes)


def denies_the_danger(emergency: Mapping[str, Any], entities: Sequence[Mapping[str, Any]]) -> bool:
    """Whether, right after the crisis answer, the resident negates that danger (the safety net's
    ``emergency_denied`` entity: "en mä oo tekemässä itelleni mitään"). Playing down the other
    levels ("ei se oo tajuton") gets their guidance again (``urgency_doubted``)."""
    level = str(emergency.get("target"))
    return level == CRISIS_LEVEL and level in entity_values(entities, "emergency_denied")


def declines_the_service(emergency: Mapping[str, Any], text: str, routes: RouteTable) -> bool:
    """Whether, right after the urgent care or crisis answer, the resident turns down the service it
    named ("en mä halua mihinkään päivystykseen"): routes.yml ``declining_phrases``. After 112 the
    guidance stands."""
    if str(emergency.get("target")) not in (URGENT_CARE_LEVEL, CRISIS_LEVEL):
        return False
    return mentions_any(routes.declining_phrases, normalise(text))


def help_on_after_denial(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    emergency: Mapping[str, Any],
    routes: RouteTable,
    action: EscalationAction,
    team: str | None = None,
) -> list[EventType]:
    """The answered level's number in one line, then ``team`` or the team that helps on after that
    level (routes.yml ``emergency_follow_ups``)."""
    level = str(emergency.get("target"))
    dispatcher.utter_message(response=LEVEL_REMINDERS.get(level, GENERAL_REMINDER))
    helping = team or follow_up_team(emergency, routes)
    if helping is None:
        return []
    return send_team(dispatcher, tracker, team_route(helping, routes), routes, action)


def team_for_later(tracker: Tracker, text: str, routes: RouteTable) -> str | None:
    """The team that helps on after an emergency answer, when the resident asks about a later time
    ("voiko joskus myöhemmin jutella jonkun kanssa tästä, ei kiireellisesti" after the crisis answer)."""
    emergency = previous_emergency(tracker.events)
    if emergency is None or not speaks_of_later(text, routes):
        return None
    return follow_up_team(emergency, routes)


def helping_team_another_day(tracker: Tracker, text: str, routes: RouteTable) -> str | None:
    """The team that helps on after this conversation's emergency answers, for a person asked for
    another day ("voinko huomenna puhua jonkun kanssa…" after the crisis and 112 answers)."""
    return team_after_emergencies(tracker.events, routes) if speaks_of_later(text, routes) else None


def team_pointed_at(tracker: Tracker, route: Route | None, text: str, routes: RouteTable) -> str | None:
    """The team a question for one of a team's own pages points at ("mikä se numero sinne on?",
    "miten mä saan sinne ajan"): the team talked about last, named by the resident or offered."""
    if (
        route is None
        or route.type != "webpage"
        or not points_to_a_team(text, routes)
        or addresses_the_service(text, routes)
    ):
        return None
    page = routes.pages.get(str(route.extra.get("page")))
    if page is None or not page.of_team:
        return None
    return last_team_talked_about(tracker.events, routes)


def last_team_talked_about(events: Sequence[Mapping[str, Any]], routes: RouteTable) -> str | None:
    """The team named in the resident's earlier messages or offered by the bot, whichever came last."""
    seen_latest = False
    for event in reversed(events):
        if event.get("event") == "user" and not seen_latest:
            seen_latest = True  # the message being answered
            continue
        team = find_team(str(event.get("text") or ""), routes) if event.get("event") == "user" else None
        route = route_of(event)
        if event.get("event") == "bot" and route.get("type") == "team":
            team = route.get("target")
        if team in routes.teams:
            return str(team)
    return None


def answer_about_anonymity(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    text: str,
    routes: RouteTable,
    action: EscalationAction,
) -> list[EventType] | None:
    """Whether one can stay anonymous with the team named or talked about ("voiko sinne soittaa
    nimettömänä?"): the catalogue's identification policy said, and the team offered again; ``None``
    when the message does not ask it or no team is in view. Right after an answer it stays with that
    answer (a complaint made anonymously is the answer's matter, not the team's chat). Asked before
    any matter ("voiko täällä kysyä jotain nimettömänä?"): the assistant needs no name, and the
    matter is asked. Asked with a request to be contacted ("voinko jättää yhteydenottopyynnön mut
    ilman nimeä"): the policy, then the contact form (it asks no name)."""
    if not asks_about_anonymity(text, routes):
        return None
    need = previous_need(tracker.events)
    if need is not None and need.type == ANSWER:
        # "voinks mä tehä sen nimettömänä" after the complaint answer: that answer's matter still.
        return send_follow_up(dispatcher, tracker, need, routes, action)
    team_id = find_team(text, routes) or last_team_talked_about(tracker.events, routes)
    if team_id is None and names_no_matter(without_anonymity_words(text, routes), routes):
        dispatcher.utter_message(text=messages.text("bot.anonymity.general"))
        dispatcher.utter_message(response="utter_ask_how_can_help")
        return []
    if team_id is None:
        return None
    team = routes.teams[team_id]
    dispatcher.utter_message(text=messages.text(f"bot.anonymity.{team.identification}", team_name=team.name))
    if asks_to_be_contacted(text, routes):  # "voinko jättää yhteydenottopyynnön mut ilman nimeä"
        return start_contact_form(dispatcher, tracker, text, routes)
    return send_team(dispatcher, tracker, team_route(team_id, routes), routes, action)


# Right after an answer, a team route the classifier is at least this sure of, for a team other than
# the answer's and not naming the answer's matter, is a new need rather than a question on the answer.
SURE_OF_ANOTHER_TEAM = 0.9


def another_teams_matter_after_an_answer(
    need: Need, route: Route, text: str, routes: RouteTable, confidence: float
) -> bool:
    """Whether a message right after an answer is surely another team's matter (see
    :data:`SURE_OF_ANOTHER_TEAM`): "sille pitäis saada myös kotihoitoo" after how to act in Omakanta
    on a parent's behalf goes to home care's team, not the answer again."""
    answer = routes.answers.get(need.target) if need.type == ANSWER else None
    if answer is None or route.type != "team" or confidence < SURE_OF_ANOTHER_TEAM:
        return False
    if asks_about_anonymity(text, routes):
        return False  # "voiko sen tehdä nimettömänä, en haluu et se vaikuttaa neuvolakäynteihin"
    return route.target != answer.team and not mentions_any(answer.keywords, normalise(text))


def asks_about_the_answer(text: str, need: Need, routes: RouteTable) -> bool:
    """Whether a message right after an answer asks about it: names its matter ("entä hammashoito,
    kuuluuks se siihen kattoon" after the payment ceiling) or points back at it ("pitääks mun ite
    seurata sitä"), not to another matter ("entä…", "toinen juttu…"), a need for help of its own
    ("rahat on ihan loppu, mistä saa apua") or another answer's topic ("valitus siitä")."""
    if need.type != ANSWER:
        return False
    answer = routes.answers.get(need.target)
    if answer is not None and mentions_any(answer.keywords, normalise(text)):
        return True
    if (
        not speaks_of_it(text, routes)
        or turns_to_another_matter(text, routes)
        or asks_for_new_help(text, routes)
    ):
        return False
    return answer_asked(text, routes) in (None, need.target)


def person_instead_of_assessment(need: Need | None, text: str, routes: RouteTable) -> Route | None:
    """The team to offer when, right after an Omaolo assessment, the resident would rather call or
    write to a person ("entä jos en halua tehdä sitä testiä, voinko soittaa jonnekin"), or did the
    assessment and was told to contact one: the team the message names ("tein sen jo ja se sano et
    ota yhteys fysioterapiaan"), else the assessment's person team."""
    team = routes.omaolo.person_team
    if need is None or need.type != "omaolo" or team is None or not declines_the_assessment(text, routes):
        return None
    return team_route(find_team(text, routes) or team, routes)


def answer_without_team(need: Need, routes: RouteTable) -> bool:
    """Whether ``need`` is an answer that offered no team ("entä voiks samalla varata uuden ajan"
    after an answer with the dental team offered is that team's matter)."""
    answer = routes.answers.get(need.target) if need.type == ANSWER else None
    return answer is not None and answer.team is None


def stays_with_need(
    tracker: Tracker, need: Need, route: Route | None, text: str, routes: RouteTable, confidence: float
) -> bool:
    """Whether a message routed elsewhere (with the classifier's ``confidence``) is rather a follow-up
    on ``need``, that of the bot's previous turn.

    An emergency, a request for the form or a team the message names itself is never held back.
    A page of a team's own matters (``of_team``) asked right after a team was offered, or the
    page of the answer just given, stays; so does a symptom already talked about, or one only
    denied ("ei oo kuumetta eikä turvotusta"). Otherwise it stays when it points back ("entä
    jos hän…", "se ei…") and the classifier is not sure of the new route, or when the
    classifier is unsure of the new route in any case ("mä en tiedä mitä tehdä").
    """
    if route is None or route.type in ("emergency", "form"):
        return False
    if route.type == need.type and route.target == str(need.route.get("target")):
        return False
    if (
        route.type == "team"
        and need.type != ANSWER
        and find_team(text, routes) == route.target
        and asks_or_wishes(text)
    ):
        # "pääsisinkö sinne hammashoitoon juttelemaan" after the fee page asks for the team it names;
        # not an account ("se oli terveyskeskuksessa…") nor a question on an answer ("entä hammashoito?"
        # after the payment ceiling).
        return False
    if opens_another_matter(text, routes):
        return False  # "ja sit toinen juttu, …", "sitten kysyisin vielä …"
    if need.type == "omaolo" and asks_for_assessment(text):
        return True  # "oon 16, voinks mä käyttää sitä oirearviota ite": about the assessment just offered
    if route.extra.get("reason") == CHILD_SYMPTOM and need.type == "omaolo":
        return False  # "ja 5-vuotiaalla on ihan sama juttu": a child's symptom is not the adult's assessment
    told_of_the_child = route.extra.get("age_told") and need.type == "team"
    if told_of_the_child and need.target not in routes.omaolo.child_health_teams:
        return False  # "ja nyt hänellä on korva kipeä" after the child's disability services: a symptom
    if (
        route.extra.get("reason") == CHILD_SYMPTOM
        and need.type == "team"
        and need.target in routes.omaolo.child_stays_with
    ):
        return True  # "sattuu vaan kun vauva imee" with the midwives: the mother's matter
    if route.type == "webpage" and need.type == ANSWER and asks_for_a_page(text, routes):
        return False  # "mistä näkee sen hinnaston" after the payment ceiling: the page itself
    if another_teams_matter_after_an_answer(need, route, text, routes, confidence):
        return False  # "sille pitäis saada myös kotihoitoo" after the Omakanta answer: home care's team
    if route.type in ("team", "webpage") and asks_about_the_answer(text, need, routes):
        return True  # "pitääks mun ite seurata sitä" after the payment ceiling: a question on the answer
    if route.type == "team" and need.type == "team":
        # "se on myös alkanu juomaan" about the teenager the family centre was offered for stays;
        # "entäs fysioterapia", "mistä saa uuden pyörätuolin", "ero tuli ja pitäis sopia lasten
        # asumisesta" are new needs.
        return not (
            announces_a_new_need(text, route, routes) or tells_its_own_matter(text, route, confidence, routes)
        )
    if route.type == "omaolo" and speaks_of_oneself(text, routes):
        return False  # "ja mulla itellä on sama yskä": the writer's own symptom, a new need
    if route.type == "omaolo" and need.route.get("reason") == CHILD_SYMPTOM:
        # "ei oo hengenahdistusta, syö ja leikkii" after the child's cough: about the child; but
        # "entä mun selkä…" turns to the writer's own.
        return not (turns_to_another_matter(text, routes) and has_any_word(routes.first_person_words, text))
    if route.type == "webpage" and answer_without_team(need, routes) and opens_with_a_new_topic(text, routes):
        return False  # "entä paljonko yks lääkärikäynti maksaa" after the payment ceiling: the fee page
    if route.type == "webpage":
        return _page_of_need(need, str(route.extra.get("page")), text, tracker, routes) or (
            refers_back(text, routes) and confidence < STAY_BELOW_CONFIDENCE
        )
    if route.type == "omaolo" and _symptom_of_need(route, text, tracker, routes):
        return True
    if (
        route.type == "omaolo"
        and route.extra.get("symptom") == GENERAL_SYMPTOM
        and need.type in ("team", "omaolo")
    ):
        return True  # "alaleuassa takana, särkee öisin" after the dental team: a detail of that matter
    if not refers_back(text, routes):
        return confidence < UNSURE_OF_NEW_NEED
    return confidence < STAY_BELOW_CONFIDENCE


def _page_of_need(need: Need, page_id: str, text: str, tracker: Tracker, routes: RouteTable) -> bool:
    """Whether a page is about the need: the page of the answer just given, or a team's own page
    right after a team offer ("miten sinne varataan aika?", "mikä niiden numero on?"). Contact
    details asked right after an answer are not the answer again ("mikä on terveysaseman
    puhelinnumero" after the prescription answer), nor is an address the team again ("mikä on se
    hammashoitolan osote"): their page answers them."""
    answer = routes.answers.get(need.target) if need.type == ANSWER else None
    if answer is not None and answer.page == page_id:
        return True
    if page_id == CONTACT_PAGE and (need.type == ANSWER or has_any_word(routes.address_words, text)):
        return False
    named = find_team(text, routes)
    discussed = {answer.team if answer is not None else need.target, latest_team(tracker.events)}
    if named is not None and named not in discussed:
        return False  # "miten mä varaan ajan labraan?" after physiotherapy: another team's matter
    page = routes.pages.get(page_id)
    team_offered = any(route.get("type") == "team" for route in turn_routes(tracker.events))
    return page is not None and page.of_team and team_offered and not addresses_the_service(text, routes)


def _symptom_of_need(route: Route, text: str, tracker: Tracker, routes: RouteTable) -> bool:
    """Whether a symptom message adds detail to the need rather than starting a new one: its
    symptom was talked about earlier in the conversation, or it names symptoms only to deny them."""
    if asks_for_assessment(text):
        return False
    symptom = str(route.extra.get("symptom"))
    if symptom == GENERAL_SYMPTOM:
        return refers_back(text, routes) or denies_a_symptom(text, routes.omaolo.symptoms)
    return symptom in {discussed.id for discussed in symptoms_discussed(tracker, routes)}


def assessment_discussed(tracker: Tracker, routes: RouteTable) -> Route | None:
    """The assessment of the symptom the resident wrote about last ("pitäiskö mun tehä se oirearvio")."""
    discussed = symptoms_discussed(tracker, routes)
    return symptom_route(discussed[-1]) if discussed else None


def symptoms_discussed(tracker: Tracker, routes: RouteTable) -> list[Symptom]:
    """The symptom of each earlier message of the resident that names one, oldest first."""
    found = (find_symptom(text, routes.omaolo.symptoms) for text in earlier_texts(tracker.events))
    return [symptom for symptom in found if symptom is not None]


class ActionRoute(EscalationAction):
    """Route the latest message by the route table, or ask which topic a request for a person is about.

    A request for a person goes to the team of a button's ``team`` entity, else
    to the team decided last in this conversation, else the topic is asked. A
    follow-up on the need of the bot's previous turn stays with it.
    """

    def name(self) -> str:
        return "action_route"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent, text, entities = _latest(tracker)
        remind_of_112(dispatcher, tracker)
        events = self.route(dispatcher, tracker, intent, intent_confidence(tracker), text, entities)
        if intent == FORM_INTENT or form_ended_this_turn(tracker.events):
            # The rule of a request for the form would start it next, but the route decided otherwise
            # ("äidin asia" is asked about first); or the form was just set aside for this matter.
            return then_listen(events)
        return events

    def route(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        intent: str | None,
        confidence: float,
        text: str,
        entities: list[dict[str, Any]],
    ) -> list[EventType]:
        """Route ``text`` as a message of ``intent`` (classified with ``confidence``) in this conversation."""
        routes = default_routes()
        doubted = urgency_doubted(tracker, text, routes)
        if doubted is not None:
            return send_route(dispatcher, doubted, routes)
        timing = tell_when_contacted(dispatcher, tracker, text, routes)
        if timing is not None:
            return timing
        anonymity = answer_about_anonymity(dispatcher, tracker, text, routes, self)
        if anonymity is not None:
            return anonymity
        team = conversation_team(tracker)
        if intent == HUMAN_INTENT and team is not None and not opens_another_matter(text, routes):
            # "I want to talk to a person" after a team decision means that team; not after "saanko
            # kysyä vielä yhtä asiaa, joka ei liity maksuihin".
            entities = [*entities, {"entity": "team", "value": team}]
        route = decide_route(intent, text, entities, routes)
        if route is not None and route.extra.get("symptom") == GENERAL_SYMPTOM and asks_for_assessment(text):
            route = assessment_discussed(tracker, routes) or route
        if youngest_age(entities) is None:
            route = child_symptom_in_context(route, text, earlier_ages(tracker.events), routes) or route
        detail = (
            detail_after_safety_question(tracker, text, route, routes) if intent != EMERGENCY_INTENT else None
        )
        if detail is not None:
            return send_decision(dispatcher, tracker, detail[1], routes, self, detail[0])
        contact = intent == FORM_INTENT or asks_to_be_contacted(text, routes)
        asks_contact = intent != EMERGENCY_INTENT and contact
        emergency = previous_emergency(tracker.events)
        if asks_contact and emergency is not None and not asks_for_the_form(text, routes):
            # "voiko joku soittaa mulle, en tiiä mitä tehdä" right after the social emergency answer:
            # the non-urgent form is not for now; that answer again.
            return send_route(dispatcher, emergency_again(emergency), routes)
        if asks_contact and wants_a_call_today(text, routes) and not someone_chats_now(self, routes):
            # "voiko joku soittaa mulle viel tänään" in the evening: nobody can; say so and what instead.
            offer_a_person(dispatcher, tracker, routes, self, understood=True)
            return []
        if asks_contact and intent != FORM_INTENT:
            return start_contact_form(dispatcher, tracker, text, routes)
        if emergency is not None and (route is None or route.type != "emergency"):
            if stays_with_emergency(emergency, intent, confidence, text, routes):
                if thanked_after_emergency(dispatcher, tracker, text):
                    # "kiitos, mä meen sen luo ja soitetaan yhdessä kriisipuhelimeen"
                    return []
                named = route.target if route is not None and route.type == "team" else None
                if denies_the_danger(emergency, entities) or (
                    named and declines_the_service(emergency, text, routes)
                ):
                    # "en mä oo tekemässä itelleni mitään, mut haluisin puhua jollekin", "en halua
                    # päivystykseen, haluun jutella juomisesta": the number once more in a line, and
                    # the team that helps on.
                    return help_on_after_denial(dispatcher, tracker, emergency, routes, self, named)
                events = send_route(dispatcher, emergency_again(emergency), routes)
                if intent != HUMAN_INTENT:
                    return events
                if emergency.get("target") in (URGENT_CARE_LEVEL, SOCIAL_LEVEL):
                    # "onks siellä ketään hoitajaa" after 116 117, "voinko puhua jonkun kanssa" after the
                    # social emergency service: who can chat now, honestly.
                    offer_a_person(dispatcher, tracker, routes, self, understood=True)
                    return events
                helping = follow_up_team(emergency, routes)
                if helping is not None:
                    return send_team(dispatcher, tracker, team_route(helping, routes), routes, self)
                return events
        topic = answer_asked(text, routes)
        if topic is not None and (route is None or route.type in ANSWERED_FIRST):
            team = route.target if route is not None and route.type == "team" else None
            return send_answer(dispatcher, tracker, topic, routes, self, team=team)
        team_meant = team_pointed_at(tracker, route, text, routes)
        if team_meant is not None:
            return send_team(dispatcher, tracker, team_route(team_meant, routes), routes, self)
        need = previous_need(tracker.events)
        instead = person_instead_of_assessment(need, text, routes)
        if instead is not None:
            return send_team(dispatcher, tracker, instead, routes, self)
        form_taken = route is not None and route.type == "form" and form_offered_last(tracker.events)
        if need is None and asks_vaguely(text, routes) and not form_taken:  # but "no sit se lomake"
            return ask_about_vague_matter(dispatcher, tracker, routes)
        staying = need is not None and stays_with_need(tracker, need, route, text, routes, confidence)
        if not staying and route is not None and route.type == "form":
            return start_contact_form(dispatcher, tracker, text, routes)
        if need is not None and staying:
            events = send_follow_up(dispatcher, tracker, need, routes, self)
        elif route is not None:
            events = send_decision(dispatcher, tracker, route, routes, self, intent)
        elif intent == HUMAN_INTENT:
            offer_a_person(dispatcher, tracker, routes, self, understood=True)
            return []
        else:
            dispatcher.utter_message(response="utter_ask_how_can_help")
            return []
        if intent == HUMAN_INTENT:
            offer_open_teams_instead(dispatcher, tracker, routes, self, events)
        return events


# Layers whose suspicion rests on the lexicon's own words (rather than a learned guess).
WORDED_LAYERS = frozenset({"lexicon", "tolerant"})


def suspicion_answered(suspicion: Route, answered: Mapping[str, Any], layer: str | None) -> Route:
    """The answer to a suspicion right after an emergency answer: that answer again, unless the
    lexicon's words suspect another level ("entä jos se alkaa olla veltto" after 116 117: 112)."""
    suspected = str(suspicion.extra.get("suspected"))
    if suspected == str(answered.get("target")) or layer not in WORDED_LAYERS:
        return emergency_again(answered)
    extra = {key: value for key, value in suspicion.extra.items() if key != "suspected"}
    return Route("emergency", suspected, extra)


def safety_buttons(language: str | None = None) -> list[dict[str, str]]:
    """The safety question's answers (in English or Swedish for a message in that ``language``). The
    call button comes before them: the chat page shows one for every emergency route payload
    (``webchat/src/chat.js``), and the text says 112 as well.
    """
    suffix = language_suffix(language)
    return [
        {"title": messages.text(f"bot.buttons.urgent_yes{suffix}"), "payload": "/affirm"},
        {"title": messages.text(f"bot.buttons.urgent_no{suffix}"), "payload": "/deny"},
    ]


# The reminder that starts a follow-up a moderate guess suspected, by the suspected level.
LEVEL_REMINDERS = {
    CRISIS_LEVEL: "utter_emergency_reminder_crisis",
    SOCIAL_LEVEL: "utter_emergency_reminder_social",
}
# The reminder of 112 and 116 117 in one line, for the other levels.
GENERAL_REMINDER = "utter_emergency_reminder"


# After a moderate guess, the intents that are routed as they are rather than as a detail of the need.
ROUTED_ALONE = frozenset({"report_symptom", HUMAN_INTENT})


def about_a_child(need: Need) -> bool:
    """Whether the need is a young child's symptom: there a moderate guess is still asked about."""
    return need.route.get("reason") == CHILD_SYMPTOM


def moderate_guess(entities: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a suspicion is only a moderate learned or classifier guess (no lexicon words)."""
    return "moderate" in entity_values(entities, "emergency_strength")


def best_other_intent(ranking: Sequence[Mapping[str, Any]]) -> tuple[str | None, float]:
    """The classifier's own best intent and confidence, when the safety net's ``emergency`` is set aside."""
    others = [item for item in ranking if item.get("name") not in (EMERGENCY_INTENT, FALLBACK_INTENT)]
    if not others:
        return None, 0.0
    return others[0].get("name"), float(others[0].get("confidence") or 0.0)


def tell_the_chat_is_finnish(dispatcher: CollectingDispatcher, routes: RouteTable, now: datetime) -> None:
    """The notice that the chat serves in Finnish, with the customer service line's state now."""
    service = routes.customer_service
    if service is None:
        dispatcher.utter_message(response="utter_other_language_no_phone")
        return
    dispatcher.utter_message(response="utter_other_language", **phone_line_now(service, now))


class ActionEmergency(EscalationAction):
    """Answer an emergency at once (112, 116 117, the crisis line, the social emergency service);
    a suspicion (route target ``confirm``) gets one direct safety question first.

    Inside a conversation about an everyday need, a moderate guess (a learned probability below
    ``FIRM_LEARNED``, no lexicon words) is not asked about: the message is answered as the
    follow-up it most likely is ("se on 82 ja on kaatuillu useemman kerran" after a team offer),
    after a reminder of the suspected level's number. The blind conversations showed the safety
    question there mostly on details of the need itself (docs/safety.md). A young child's symptom
    is the exception: there the guess is asked about.
    """

    def name(self) -> str:
        return "action_emergency"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        routes = default_routes()
        _, text, entities = _latest(tracker)
        route = emergency_route(entities)
        level_told = emergency_told_in_form_message(tracker, route)
        if level_told is not None:
            # "et oon viillelly ja tarvisin jonku kenen kaa jutella" as the contact form's message,
            # after the crisis answer: the resident has the guidance; a reminder, and the form goes on.
            reminder = LEVEL_REMINDERS.get(level_told, GENERAL_REMINDER)
            dispatcher.utter_message(response=reminder, social_phone=routes.social_emergency)
            return [SlotSet("contact_message", clean_message(text)), FollowupAction(FORM)]
        answered = previous_emergency(tracker.events)
        if route.target == CONFIRM_LEVEL and answered is not None:
            # Right after an emergency answer a suspicion is not asked about: the resident is in
            # that emergency still ("mihin me voidaan mennä" after the social emergency answer).
            layer = next(iter(entity_values(entities, "emergency_layer")), None)
            return send_route(dispatcher, suspicion_answered(route, answered, layer), routes)
        need = previous_need(tracker.events)
        if route.target == CONFIRM_LEVEL and moderate_guess(entities) and need and not about_a_child(need):
            return self.follow_up_with_reminder(dispatcher, tracker, need, text, entities, routes)
        if route.target == CONFIRM_LEVEL:
            dispatcher.utter_message(
                response=route_reply(route, routes).response,
                buttons=safety_buttons(route.extra.get("language")),
                json_message=route.payload(),
            )
            told = response_sent(tracker.events, "utter_other_language")
            if route.extra.get("language") in OTHER_LANGUAGES and not told:
                # Whatever the answer, the writer needs to know this chat serves in Finnish.
                tell_the_chat_is_finnish(dispatcher, routes, self.clock())
            return [SlotSet("route_type", route.type), SlotSet("route_target", route.target)]
        if (
            answered is not None
            and answered.get("target") == DEFAULT_EMERGENCY_LEVEL
            and route.target == URGENT_CARE_LEVEL
        ):
            # "eiks se voi vaan viedä mut autolla päivystykseen" right after 112: that answer stands.
            return send_route(dispatcher, emergency_again(answered), routes)
        return send_route(dispatcher, route, routes)

    def follow_up_with_reminder(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        need: Need,
        text: str,
        entities: list[dict[str, Any]],
        routes: RouteTable,
    ) -> list[EventType]:
        """The suspected level's reminder, then the message as a detail of ``need``, unless it is
        a symptom, a request for a person, a question with an answer or names a team of its own:
        those are routed by the classifier's own intent."""
        suspected = next(iter(entity_values(entities, "emergency_suspected")), "112")
        reminder = LEVEL_REMINDERS.get(suspected, "utter_emergency_reminder")
        dispatcher.utter_message(response=reminder, social_phone=routes.social_emergency)
        intent, confidence = best_other_intent((tracker.latest_message or {}).get("intent_ranking") or [])
        routed_alone = intent in ROUTED_ALONE or find_team(text, routes) or answer_asked(text, routes)
        if not routed_alone:
            return send_follow_up(dispatcher, tracker, need, routes, self)
        kept = [entity for entity in entities if not str(entity.get("entity") or "").startswith("emergency_")]
        return ActionRoute(self.client_factory, self.clock).route(
            dispatcher, tracker, intent, confidence, text, kept
        )


def emergency_told_in_form_message(tracker: Tracker, route: Route) -> str | None:
    """The level already answered in this conversation that the contact form's message speaks of
    again (the same level, or a suspicion), else ``None``: a more urgent level interrupts the form."""
    in_form = (tracker.active_loop or {}).get("name") == FORM
    if not in_form or tracker.get_slot("requested_slot") != "contact_message":
        return None
    levels = emergency_levels_answered(tracker.events)
    if route.target in levels:
        return route.target
    return levels[-1] if levels and route.target == CONFIRM_LEVEL else None


def safety_question_asked(tracker: Tracker) -> dict[str, Any] | None:
    """The parse of the message the latest emergency answer was about, if it asked the safety question."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        if (parse.get("intent") or {}).get("name") != EMERGENCY_INTENT:
            continue
        return (
            parse if CONFIRM_LEVEL in entity_values(parse.get("entities") or [], "emergency_level") else None
        )
    return None


def safety_question_last(tracker: Tracker) -> bool:
    """Whether the bot's previous turn asked the safety question."""
    return any(
        route.get("type") == "emergency" and route.get("target") == CONFIRM_LEVEL
        for route in turn_routes(tracker.events)
    )


class ActionSafetyAnswer(EscalationAction):
    """The resident's answer to the safety question: "yes" gives the full guidance of the suspected
    level; "no" goes on with what the message itself was about.
    """

    def name(self) -> str:
        return "action_safety_answer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not safety_question_last(tracker):
            # A moderate guess answered as a follow-up asked nothing: the yes or no is about that reply.
            return [FollowupAction(YES_OR_NO)]
        routes = default_routes()
        asked = safety_question_asked(tracker)
        intent, _, _ = _latest(tracker)
        if asked is None:
            dispatcher.utter_message(response="utter_ask_how_can_help")
            return []
        entities = asked.get("entities") or []
        if intent != "deny":
            suspected = next(iter(entity_values(entities, "emergency_suspected")), "112")
            kept = [entity for entity in entities if entity.get("entity") in ("emergency_help", "language")]
            route = emergency_route([{"entity": "emergency_level", "value": suspected}, *kept])
            return send_route(dispatcher, route, routes)
        meant = meaning_of(asked, routes)
        if meant is not None:
            return send_decision(dispatcher, tracker, meant[1], routes, self, meant[0])
        return ask_which_topic(dispatcher, other_intents(asked), routes, "utter_ask_how_can_help")


# Intents between which the classifier's doubt changes nothing for a message that thanks.
ACKNOWLEDGEMENTS = frozenset({"thank", "affirm", "goodbye"})


def only_thanks(ranking: Sequence[Mapping[str, Any]], text: str) -> bool:
    """Whether a message the classifier doubted is thanks anyway: it thanks ("joo kiitti") and its two
    best intents are thanks, a yes or a goodbye."""
    best = [str(item.get("name")) for item in ranking if item.get("name") != FALLBACK_INTENT][:2]
    return len(best) == 2 and set(best) <= ACKNOWLEDGEMENTS and "thank" in best and thanks_in(text)


def other_intents(parse: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A message's intent ranking without ``emergency`` and ``nlu_fallback``."""
    return [
        item
        for item in parse.get("intent_ranking") or []
        if item.get("name") not in (EMERGENCY_INTENT, FALLBACK_INTENT)
    ]


def meaning_of(parse: Mapping[str, Any], routes: RouteTable) -> tuple[str, Route] | None:
    """What a message the safety net suspected was about apart from danger: its best other intent
    (or the one its doubt resolves to) and that intent's route, unless it has none or an emergency one."""
    text = str(parse.get("text") or "")
    ranking = other_intents(parse)
    best = str(ranking[0]["name"]) if ranking and (ranking[0].get("confidence") or 0) >= 0.5 else None
    meant = best or resolve_fallback(FALLBACK_INTENT, ranking, routes, text)
    if meant is None or meant == FALLBACK_INTENT:
        return None
    route = decide_route(meant, text, parse.get("entities") or [], routes)
    return (meant, route) if route is not None and route.type != "emergency" else None


# A detail after the safety question has at least this many words; shorter replies answer it.
MIN_DETAIL_WORDS = 4
_UNSURE_WORDS = frozenset({"tieda", "tiia", "tia", "varma", "osaa", "ehka", "kai", "voi"})


def detail_after_safety_question(
    tracker: Tracker, text: str, route: Route | None, routes: RouteTable
) -> tuple[str, Route] | None:
    """Right after the safety question, a message that is neither an answer nor a need of its own
    ("särkylääke auttaa vähän mut yöllä ei saa nukuttua" after a toothache with a swollen cheek):
    no danger was confirmed, so the asked message's own meaning and route, as after "ei"."""
    if route is not None and route.extra.get("symptom") != GENERAL_SYMPTOM:
        return None
    words = normalise(text).split()
    if len(words) < MIN_DETAIL_WORDS or _UNSURE_WORDS & set(words):
        return None  # "en tiedä", "en oo varma": not a no; the question stands
    if not safety_question_last(tracker):
        return None
    asked = safety_question_asked(tracker)
    return meaning_of(asked, routes) if asked is not None else None


class ActionHandleFallback(EscalationAction):
    """Handle ``nlu_fallback``: route it if the doubt was only between intents with the same route; else
    first miss: ask with buttons of the likely topics, second miss in a row: offer a person or the form.
    """

    def name(self) -> str:
        return "action_handle_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        routes = default_routes()
        _, text, entities = _latest(tracker)
        doubted = urgency_doubted(tracker, text, routes)
        if doubted is not None:
            return send_route(dispatcher, doubted, routes)
        if thanked_after_emergency(dispatcher, tracker, text):
            return []
        timing = tell_when_contacted(dispatcher, tracker, text, routes)
        if timing is not None:
            return timing
        if conversation_had_a_route(tracker) and ends_with_thanks_and_goodbye(text, routes):
            return goodbye_then_rating(dispatcher, tracker)  # "…käyn katsomassa häntä. Kiitos, hei."
        still_meant = emergency_still_meant(tracker, text)
        if still_meant is not None and answer_asked(text, routes) is None:
            # But "mihin tästä voi valittaa" after 116 117 asks its own answer (below).
            return send_route(dispatcher, still_meant, routes)
        helping_later = team_for_later(tracker, text, routes)
        if helping_later is not None:
            return send_team(dispatcher, tracker, team_route(helping_later, routes), routes, self)
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        if only_thanks(ranking, text):  # "joo kiitti": thanks or a yes, thanks either way
            dispatcher.utter_message(response="utter_you_are_welcome")
            return [SlotSet("rating_due", False)]
        remind_of_112(dispatcher, tracker)
        resolved = resolve_fallback("nlu_fallback", ranking, routes, text)
        decided = decide_route(resolved, text, entities, routes) if resolved != "nlu_fallback" else None
        need = previous_need(tracker.events)
        instead = person_instead_of_assessment(need, text, routes)
        if instead is not None:
            return send_team(dispatcher, tracker, instead, routes, self)
        if need is not None and asks_about_the_answer(text, need, routes):
            # "lasketaanko hammashoidon maksut siihen mukaan?" right after the payment ceiling
            return send_follow_up(dispatcher, tracker, need, routes, self)
        detail = detail_after_safety_question(tracker, text, decided, routes)
        if detail is not None:
            return send_decision(dispatcher, tracker, detail[1], routes, self, detail[0])
        topic = answer_asked(text, routes)
        if topic is not None and decided is not None and decided.type in ANSWERED_FIRST:
            # "haluun tehdä valituksen. vein pojan lääkäriin … todettiin korvatulehdus": the complaint
            # asked for, with the team the account's words name, as an understood message is answered.
            team = decided.target if decided.type == "team" else None
            return send_answer(dispatcher, tracker, topic, routes, self, team=team)
        if decided is not None:
            return send_decision(dispatcher, tracker, decided, routes, self, resolved)
        if asks_to_be_contacted(text, routes):
            return start_contact_form(dispatcher, tracker, text, routes)
        if topic is not None:
            return send_answer(dispatcher, tracker, topic, routes, self)
        named = find_team(text, routes)
        if named is not None:
            return send_decision(dispatcher, tracker, team_route(named, routes), routes, self)
        if need is not None:
            return send_follow_up(dispatcher, tracker, need, routes, self)
        user_intents = [
            (event.get("parse_data") or {}).get("intent", {}).get("name")
            for event in tracker.events
            if event.get("event") == "user"
        ]
        if asks_vaguely(text, routes):
            return ask_which_topic(dispatcher, ranking, routes, "utter_ask_how_can_help")
        if consecutive_misses(user_intents) >= 2:
            offer_a_person(dispatcher, tracker, routes, self, understood=False)
            return []
        return ask_which_topic(dispatcher, ranking, routes, "utter_clarify")
