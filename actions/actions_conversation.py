"""The conversation around the routes: factual answers, yes and no in context, goodbye and feedback,
and the notice for residents writing in English or Swedish.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import contact_form
from actions.actions_escalation import (
    ActionDeclineQueue,
    ActionJoinQueue,
    EscalationAction,
    buttons,
)
from actions.actions_routing import (
    ActionHandleFallback,
    acknowledge_after_emergency,
    answer_about_anonymity,
    ask_about_vague_matter,
    best_other_intent,
    denies_the_danger,
    emergency_still_meant,
    help_on_after_denial,
    helping_team_another_day,
    meaning_of,
    offer_a_person,
    person_instead_of_assessment,
    start_contact_form,
    stays_with_need,
    tell_the_chat_is_finnish,
    thanked_after_emergency,
    urgency_doubted,
)
from actions.availability import ACCEPTING
from actions.context import (
    emergency_answered,
    form_ended_this_turn,
    previous_emergency,
    previous_need,
    refers_back,
    turn_responses,
    turn_routes,
)
from actions.decisions import (
    ANSWER,
    RATING_DUE,
    conversation_had_a_route,
    rating_asked,
    say_goodbye,
    send_answer,
    send_decision,
    send_follow_up,
    send_route,
    send_team,
    team_route,
    then_listen,
)
from actions.routing import (
    CALLED_INTENT,
    HUMAN_INTENT,
    OTHER_LANGUAGES,
    Route,
    answer_asked,
    asks_for_new_help,
    asks_to_be_contacted,
    asks_vaguely,
    asks_with_a_clitic,
    decide_route,
    emergency_route,
    entity_values,
    find_team,
    has_any_word,
    language_suffix,
    mentions_any,
    speaks_of_oneself,
    thanks_in,
    turns_to_another_matter,
)
from opastin import messages
from opastin.finnish_text import normalise
from opastin.routes import RouteTable, default_routes
from opastin.safety.net import written_in_english_or_swedish

# Set by the goodbye and the feedback request: the rules start the rating form when it is true.
LIVE_CHAT_ENDED = "/give_feedback"
COMPLAINT_TOPIC = "complaint"
# "joo", "ei kiitos", "kyllä kiitos": longer is more than an answer to a question.
MAX_PLAIN_ANSWER_WORDS = 3
# Below these, an answer is not given: the intent faq, and the answer topic the selector chose.
# The classifier's probabilities are calibrated: faq above 0.5 is more likely than all else together.
MIN_FAQ_CONFIDENCE = 0.5
MIN_ANSWER_CONFIDENCE = 0.8
# An unsure answer routes the next intent of the ranking instead, when it has at least this weight.
MIN_RUNNER_UP = 0.05
# An answer chosen this surely is a new question even right after another answer.
SURE_ANSWER = 0.9


def next_routed_intent(ranking: list[dict[str, Any]], routes: RouteTable) -> str | None:
    """The best intent after ``faq`` that the route table routes, if the classifier gave it some weight."""
    return next(
        (
            str(item.get("name"))
            for item in ranking
            if item.get("name") in routes.intents and float(item.get("confidence") or 0.0) >= MIN_RUNNER_UP
        ),
        None,
    )


def selected_topic(tracker: Tracker) -> tuple[str | None, float]:
    """The answer topic (``faq/<topic>``) the selector of ``rasa_addons/faq_selector.py`` chose
    for the latest message, and its confidence."""
    selector = ((tracker.latest_message or {}).get("response_selector") or {}).get("faq") or {}
    response = selector.get("response") or {}
    topic = str(response.get("intent_response_key") or "").partition("/")[2]
    confidence = float(response.get("confidence") or 0.0)
    return (topic, confidence) if topic in default_routes().answers else (None, 0.0)


class ActionAnswer(EscalationAction):
    """Give the short factual answer the topic selector chose, and offer the team the question
    names, or else the answer's own team, where one helps.

    An answer the selector is unsure of is not given: the message then adds to the need
    the conversation is about, or is handled as not understood.
    """

    def name(self) -> str:
        return "action_answer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = self.answer(dispatcher, tracker, domain)
        # After the form was set aside for this question, the turn ends here.
        return then_listen(events) if form_ended_this_turn(tracker.events) else events

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Answer, or decide what the message is when the answer is not sure."""
        routes = default_routes()
        topic, confidence = selected_topic(tracker)
        message = tracker.latest_message or {}
        intent = message.get("intent") or {}
        text = str(message.get("text") or "")
        need = previous_need(tracker.events)
        faq_confidence = float(intent.get("confidence") or 0.0)
        sure = faq_confidence >= MIN_FAQ_CONFIDENCE and confidence >= MIN_ANSWER_CONFIDENCE
        doubted = urgency_doubted(tracker, text, routes)
        if doubted is not None:
            return send_route(dispatcher, doubted, routes)
        anonymity = answer_about_anonymity(dispatcher, tracker, text, routes, self)
        if anonymity is not None:
            return anonymity
        if topic is None or not sure:
            unsure_after_emergency = emergency_still_meant(tracker, text)
            if unsure_after_emergency is not None:
                return send_route(dispatcher, unsure_after_emergency, routes)
            named = answer_asked(text, routes)
            if named is not None:  # "voin kirjottaa suomeks. miten mä uusin reseptin": its keywords
                return send_answer(dispatcher, tracker, named, routes, self, team=find_team(text, routes))
            if need is not None and refers_back(text, routes):
                return send_follow_up(dispatcher, tracker, need, routes, self)
            runner_up = next_routed_intent(message.get("intent_ranking") or [], routes)
            if runner_up is not None:
                route = decide_route(runner_up, text, message.get("entities") or [], routes)
                if need is not None and stays_with_need(tracker, need, route, text, routes, faq_confidence):
                    return send_follow_up(dispatcher, tracker, need, routes, self)
                if route is not None:
                    return send_decision(dispatcher, tracker, route, routes, self, runner_up)
            if need is not None:
                return send_follow_up(dispatcher, tracker, need, routes, self)
            fallback: list[EventType] = ActionHandleFallback(self.client_factory, self.clock).run(
                dispatcher, tracker, domain
            )
            return fallback
        other_topic = need is not None and need.type == ANSWER and need.target != topic
        if need is not None and other_topic and confidence < SURE_ANSWER and refers_back(text, routes):
            return send_follow_up(dispatcher, tracker, need, routes, self)
        if (
            need is not None
            and need.type == "team"
            and another_teams_answer(topic, need.target, text, routes)
        ):
            named = answer_asked(text, routes)
            if named is not None:
                # "voinko mä edelleen katsoa hänen reseptit omakannasta" after disability services:
                # the answer its own keywords name.
                return send_answer(dispatcher, tracker, named, routes, self, team=find_team(text, routes))
            # "voiko hän hakea itse vai pitääkö minun?" after older people's services is about that
            # team's matter, not the income support answer that the word "hakea" suggests.
            return send_follow_up(dispatcher, tracker, need, routes, self)
        # "pääseekö fyssarille ilman lähetettä?": the answer, then the team the question names.
        return send_answer(dispatcher, tracker, topic, routes, self, team=find_team(text, routes))


def another_teams_answer(topic: str, team: str, text: str, routes: RouteTable) -> bool:
    """Whether an answer belongs to another team than the one just offered, and the question names
    neither that team nor the answer's own keywords."""
    answer = routes.answers[topic]
    if answer.team is None or answer.team == team or find_team(text, routes) == answer.team:
        return False
    normalised = normalise(text)
    return not mentions_any(answer.keywords, normalised)


def queue_offered_last(tracker: Tracker) -> bool:
    """Whether the bot's previous turn asked "Haluatko jonoon?" (a team accepting residents)."""
    offered = any(route.get("type") == "team" for route in turn_routes(tracker.events))
    return offered and tracker.get_slot("team_availability") == ACCEPTING


class ActionYesOrNo(EscalationAction):
    """A plain "joo" or "ei kiitos": an answer to the queue offer if one was made; a longer message
    after a need ("joo ja hän on jo 85") adds to that need; else the need is asked."""

    def name(self) -> str:
        return "action_yes_or_no"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # Also run after the safety question's action (a yes or no to a reminder): listen next.
        return then_listen(self._answer(dispatcher, tracker, domain))

    def _answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        latest = tracker.latest_message or {}
        intent = (latest.get("intent") or {}).get("name")
        text = str(latest.get("text") or "")
        routes = default_routes()
        doubted = urgency_doubted(tracker, text, routes)
        if doubted is not None:  # "no se meni jo ohi, ei varmaan tarvi" right after the 112 answer
            return send_route(dispatcher, doubted, routes)
        if asks_to_be_contacted(text, routes):
            return start_contact_form(dispatcher, tracker, text, routes)
        named = find_team(text, routes)
        if named is not None:  # "joo palveluneuvo kuulostaa oikealta" after the topics of a person offer
            return send_decision(dispatcher, tracker, team_route(named, routes), routes, self)
        emergency = previous_emergency(tracker.events)
        if emergency is not None and not denies_the_danger(emergency, latest.get("entities") or []):
            # "ok", "en mä tiiä. en mä varmaan tee mitään" right after the crisis answer: its numbers again.
            return acknowledge_after_emergency(dispatcher, emergency, text, unsure=intent == "deny")
        if emergency is not None and len(text.split()) > MAX_PLAIN_ANSWER_WORDS:
            # "ei se oo syvä enkä mä halua kuolla. haluun vaan et joku puhuis" right after the crisis
            # answer: the line in a line, and the team that helps on, as an understood denial gets.
            return help_on_after_denial(dispatcher, tracker, emergency, routes, self)
        need = previous_need(tracker.events)
        instead = person_instead_of_assessment(need, text, routes)
        if instead is not None:  # "en mä osaa noita nettikyselyitä tehä" right after an assessment
            return send_team(dispatcher, tracker, instead, routes, self)
        if need is not None and len(text.split()) > MAX_PLAIN_ANSWER_WORDS:
            return send_follow_up(dispatcher, tracker, need, routes, self)
        queue_offered = queue_offered_last(tracker)
        if not queue_offered and thanks_in(text):
            dispatcher.utter_message(response="utter_you_are_welcome")  # "joo kiitti"
            return []
        if queue_offered:
            if intent == "affirm":
                events: list[EventType] = ActionJoinQueue(self.client_factory, self.clock).run(
                    dispatcher, tracker, domain
                )
                return events
            declined: list[EventType] = ActionDeclineQueue().run(dispatcher, tracker, domain)
            return declined
        dispatcher.utter_message(response="utter_ask_how_can_help")
        return []


class ActionGoodbye(Action):  # type: ignore[misc]  # rasa-sdk ships no types
    """Say goodbye; after the resident was directed somewhere, ask once how the chat went
    (``rating_due``: the rules then start ``feedback_form``)."""

    def name(self) -> str:
        return "action_goodbye"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        first = sum(event.get("event") == "user" for event in tracker.events) <= 1
        routes = default_routes()
        if first and set(normalise(text).split()) <= routes.greeting_words | routes.leave_taking_greetings:
            # "heippa" as the first message greets: nobody takes leave before saying anything.
            dispatcher.utter_message(response="utter_greet")
            return [SlotSet(RATING_DUE, False)]
        if not conversation_had_a_route(tracker) and asks_vaguely(
            text, routes
        ):  # "moi, kysyisin vaimon puolesta"
            return [*ask_about_vague_matter(dispatcher, tracker, routes), SlotSet(RATING_DUE, False)]
        emergency = previous_emergency(tracker.events)
        if emergency is not None and asks_with_a_clitic(text):
            # "mä lähen autolla ettimään, ehinkö ensin ite" right after 112: no leave-taking, its number.
            return [*acknowledge_after_emergency(dispatcher, emergency, text), SlotSet(RATING_DUE, False)]
        return say_goodbye(dispatcher, tracker)


# The replies to thanks (after which a bare "hei" takes leave).
THANKS_RESPONSES = ("utter_you_are_welcome", "utter_emergency_thanks", "utter_emergency_called_thanks")

# Small talk answered by its own response, unless it is a longer message after a need (then it adds to it).
CHITCHAT_INTENT = "chitchat"
SMALL_TALK_RESPONSES = {
    CHITCHAT_INTENT: "utter_chitchat",
    "out_of_scope": "utter_out_of_scope",
    "ask_capabilities": "utter_capabilities",
}
MIN_FOLLOW_UP_WORDS = 6
# Small talk the classifier is less sure of than this, right after a need, adds to that need
# ("mä en tiedä mitä tehdä" is not a question about the bot).
SURE_SMALL_TALK = 0.9


class ActionSmallTalk(EscalationAction):
    """Chit-chat, an out-of-scope question or "what can you do": its own short answer; a longer or
    less surely small-talk message right after a need ("ja mä asun Tampereella, veli ei auta")
    adds to that need."""

    def name(self) -> str:
        return "action_small_talk"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        message = tracker.latest_message or {}
        text = str(message.get("text") or "")
        intent = message.get("intent") or {}
        need = previous_need(tracker.events)
        unsure = float(intent.get("confidence") or 0.0) < SURE_SMALL_TALK
        routes = default_routes()
        # "se on kyl hereillä ja juttelee, mut tosi väsyny" right after an emergency answer reads to the
        # classifier like chatting with the bot: it is about the emergency.
        again = emergency_still_meant(tracker, text) if intent.get("name") == CHITCHAT_INTENT else None
        if again is not None:
            return send_route(dispatcher, again, routes)
        anonymity = answer_about_anonymity(dispatcher, tracker, text, routes, self)
        if anonymity is not None:
            return anonymity
        if need is not None and (len(text.split()) >= MIN_FOLLOW_UP_WORDS or unsure):
            return send_follow_up(dispatcher, tracker, need, routes, self)
        if need is None and asks_vaguely(text, routes):  # "tarviis apua", "hei kysyisin äidistä"
            return ask_about_vague_matter(dispatcher, tracker, routes)
        response = SMALL_TALK_RESPONSES.get(str(intent.get("name")), "utter_ask_how_can_help")
        dispatcher.utter_message(response=response)
        return []


# A greeting is short ("hei taas", "moikka moi, täällä ollaan"); a longer message classified as one
# right after a need is rather about that need.
MAX_GREETING_WORDS = 4


class ActionGreet(EscalationAction):
    """A greeting; a bare "moi" after the resident was already directed somewhere (or "hei" right after
    thanks were answered) takes leave, and "onks siel ketään" there asks for a person (routes.yml
    ``follow_up_words``: ``greeting``, ``leave_taking``, ``anybody``)."""

    def name(self) -> str:
        return "action_greet"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        words = normalise(text).split()
        routes = default_routes()
        thanked = any(name.startswith(THANKS_RESPONSES) for name in turn_responses(tracker.events))
        leaving = routes.leave_taking_greetings | (routes.greeting_words if thanked else frozenset())
        routed = conversation_had_a_route(tracker)
        if routed and words and set(words) <= leaving:
            return say_goodbye(dispatcher, tracker)
        if routed and routes.anybody_words & set(words):
            offer_a_person(dispatcher, tracker, routes, self, understood=True)
            return [SlotSet(RATING_DUE, False)]
        if asks_vaguely(text, routes):  # "hei, mul ois kysymys hakemuksesta"
            return [*ask_about_vague_matter(dispatcher, tracker, routes), SlotSet(RATING_DUE, False)]
        need = previous_need(tracker.events)
        greeted = bool((routes.greeting_words | routes.leave_taking_greetings) & set(words))
        if need is not None and (len(words) > MAX_GREETING_WORDS or not greeted):
            # "se on 8kk ja nyt ihan terve taas" ("terve" is also a greeting), "onks siel paljo jonoo"
            # (no greeting at all): a detail of the need
            return send_follow_up(dispatcher, tracker, need, routes, self)
        dispatcher.utter_message(response="utter_greet")
        return [SlotSet(RATING_DUE, False)]


class ActionThank(Action):  # type: ignore[misc]  # rasa-sdk ships no types
    """Thanks answered; right after an emergency answer, thanks or "ok soitan nyt" get its number
    once more with the call button; thanks that also take leave after the resident was directed
    somewhere ("ok palaan huomenna. kiitti", "kiitti, yritetään nukkua": routes.yml
    ``leave_taking_phrases``) say goodbye and ask once how the chat went, as a goodbye does."""

    def name(self) -> str:
        return "action_thank"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        written = str((tracker.latest_message or {}).get("text") or "")
        emergency = previous_emergency(tracker.events)
        if emergency is not None:  # "ok soitan nyt, kiitos" after 112: its number once more
            return [*acknowledge_after_emergency(dispatcher, emergency, written), SlotSet(RATING_DUE, False)]
        text = normalise(written)
        if conversation_had_a_route(tracker) and mentions_any(default_routes().leave_taking_phrases, text):
            return say_goodbye(dispatcher, tracker)
        dispatcher.utter_message(response="utter_you_are_welcome")
        return [SlotSet(RATING_DUE, False)]


class ActionNothingToCancel(Action):  # type: ignore[misc]  # rasa-sdk ships no types
    """A cancel outside the contact form: nothing to cancel. Right after an emergency answer, a
    message read as cancelling that is no plain stop ("soitanko itse vai soittaako joku teiltä")
    is still about the emergency: its guidance again."""

    def name(self) -> str:
        return "action_nothing_to_cancel"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        still_meant = None if contact_form.wants_to_stop(text) else emergency_still_meant(tracker, text)
        if still_meant is not None:
            return send_route(dispatcher, still_meant, default_routes())
        dispatcher.utter_message(response="utter_nothing_to_cancel")
        return []


class ActionEmergencyCalled(EscalationAction):
    """Help was already called: acknowledged without repeating the instruction; thanks are answered
    in the same breath ("Ole hyvä, ja hyvä, että soitit"). A message that then turns to another
    matter ("ok ambulanssi tulossa. kysyisin vielä, miten äidille sais kotihoitoa jatkossa") has
    that matter routed after the acknowledgement (also one asked about: "mut mistä saa apua sen
    juomiseen?"), and a need the call does not meet (the safety
    net's social or crisis level beside it: "ambulanssi tulee, mut pappa on muistisairas eikä voi
    jäädä yksin") gets its guidance. Told that the emergency is over ("se löyty naapurin pihalta, nyt
    se on kotona ja kunnossa", "ambulanssi ja poliisi kävi"), it says the situation has calmed down,
    and routes what else the message asks; with no emergency answered earlier, only that."""

    def name(self) -> str:
        return "action_emergency_called"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        latest = tracker.latest_message or {}
        text = str(latest.get("text") or "")
        routes = default_routes()
        entities = latest.get("entities") or []
        foreign = language_suffix(next(iter(entity_values(entities, "language")), None))  # "_en", "_sv"
        resolved = RESOLVED in entity_values(entities, "emergency_resolved")
        if foreign and not resolved and thanked_after_emergency(dispatcher, tracker, text):
            return []  # "ok, the ambulance is coming. thank you"
        acknowledged = not resolved or emergency_answered(tracker.events)  # else "poliisi kävi eilen…"
        level_follows = bool(entity_values(entities, "emergency_level"))  # a need the call does not meet
        if acknowledged:
            guidance = None if resolved or level_follows else called_route(text, foreign)
            dispatcher.utter_message(
                response=called_response(resolved, foreign, text),
                json_message=guidance.payload() if guidance is not None else None,
            )
        if level_follows:
            return send_route(dispatcher, emergency_route(entities), routes)
        if foreign:
            # "ambulansen är på väg nu. kan jag senare få hjälp med hemvård?": how to be served in it.
            tell_the_chat_is_finnish(dispatcher, routes, self.clock())
            return []
        named = find_team(text, routes)  # "ambulanssi on matkalla. mut kuka hoitaa sen kotihoitoasian"
        another = (
            resolved  # "se löyty, nyt se on kotona. mut ei se pärjää enää yksin": the rest is another matter
            or turns_to_another_matter(text, routes)
            or speaks_of_oneself(text, routes)
            or asks_for_new_help(text, routes)  # "mistä saa apua sen juomiseen?"
        )
        besides = other_than_called(latest)
        wants_a_person = best_other_intent(besides.get("intent_ranking") or [])[0] == HUMAN_INTENT
        meant = meaning_of(besides, routes) if another or named is not None else None
        if meant is None and another:
            meant = team_leaned_to(besides, routes)  # "mistä se saa apua tähän käyttöön"
        if meant is not None:
            return send_decision(dispatcher, tracker, meant[1], routes, self, meant[0])
        if named is not None:
            return send_decision(dispatcher, tracker, team_route(named, routes), routes, self)
        helping = helping_team_another_day(tracker, text, routes) if wants_a_person or another else None
        if helping is not None:  # "voinko huomenna puhua jonkun kanssa, miten voisin tukea häntä"
            return send_team(dispatcher, tracker, team_route(helping, routes), routes, self)
        if wants_a_person or (another and not resolved):  # "ambulanssi vei sen. onks siellä ketään…"
            offer_a_person(dispatcher, tracker, routes, self, understood=True)
        elif not acknowledged:
            dispatcher.utter_message(response="utter_ask_how_can_help")
        return []


RESOLVED = "resolved"


def called_route(text: str, foreign: str) -> Route:
    """The emergency route of an acknowledged call: the acknowledgement is that line's guidance
    ("Toimi puhelimessa saamiesi ohjeiden mukaan… soita uudelleen 112"), so the page shows its call
    link and the statistics count the conversation as an emergency; 116 117 when that was called."""
    extra: dict[str, Any] = {"called": True}
    if foreign:
        extra["language"] = foreign.lstrip("_")
    return Route("emergency", "116117" if URGENT_LINE_CALLED.search(normalise(text)) else "112", extra)


URGENT_LINE_CALLED = re.compile(r"\b116\s?117\b|paivystysapu")


def called_response(resolved: bool, foreign: str, text: str) -> str:
    """The acknowledgement of help called (or of the emergency being over: ``resolved``), in the
    message's language (``foreign``: "_en", "_sv" or ""), with thanks answered in Finnish."""
    stem = "utter_emergency_resolved" if resolved else "utter_emergency_called"
    if foreign:
        return f"{stem}{foreign}"
    return f"{stem}_thanks" if thanks_in(text) else stem


# Asked where to get help after help was called, the team of an intent the classifier gives at least
# this is offered: a guess with a team is better than no answer to the question.
TEAM_LEANED_TO = 0.25


def team_leaned_to(parse: dict[str, Any], routes: RouteTable) -> tuple[str, Route] | None:
    """The classifier's best intent in ``parse`` (emergency and fallback set aside) with its team route,
    when it gives it at least :data:`TEAM_LEANED_TO` and the intent leads to a team."""
    name, confidence = best_other_intent(parse.get("intent_ranking") or [])
    if name is None or confidence < TEAM_LEANED_TO:
        return None
    route = decide_route(name, str(parse.get("text") or ""), parse.get("entities") or [], routes)
    return (name, route) if route is not None and route.type == "team" else None


def other_than_called(parse: dict[str, Any]) -> dict[str, Any]:
    """``parse`` without ``emergency_called`` in its intent ranking: what else the message said."""
    ranking = [item for item in parse.get("intent_ranking") or [] if item.get("name") != CALLED_INTENT]
    return {**parse, "intent_ranking": ranking}


class ActionFeedbackOrComplaint(EscalationAction):
    """ "Haluan antaa palautetta": a rating of the chat after a live chat or a route; otherwise (feedback
    on care, with no chat to rate) how to complain, with a button to rate the chat after all.
    """

    def name(self) -> str:
        return "action_feedback_or_complaint"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        after_a_route = conversation_had_a_route(tracker) and not rating_asked(tracker)
        if text.startswith(LIVE_CHAT_ENDED) or after_a_route:
            return [SlotSet(RATING_DUE, True)]
        events = send_answer(dispatcher, tracker, COMPLAINT_TOPIC, default_routes(), self)
        rate = (messages.text("bot.buttons.rate_chat"), LIVE_CHAT_ENDED)
        said = messages.text("bot.feedback.rate_chat_instead")
        dispatcher.utter_message(text=said, buttons=buttons([rate]))
        return [*events, SlotSet(RATING_DUE, False)]


class ActionOtherLanguage(EscalationAction):
    """The notice that the chat serves in Finnish, with whether the phone line is open right now."""

    def name(self) -> str:
        return "action_other_language"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        emergency = previous_emergency(tracker.events)
        text = str((tracker.latest_message or {}).get("text") or "")
        routes = default_routes()
        doubted = urgency_doubted(tracker, text, routes)
        if doubted is not None:  # "should we drive her to the hospital ourselves?"
            return send_route(dispatcher, doubted, routes)
        if thanked_after_emergency(dispatcher, tracker, text):
            return []
        if emergency is not None and emergency.get("language") in OTHER_LANGUAGES:
            # More words in the language the emergency was answered in: the guidance again, in it.
            route = Route("emergency", str(emergency.get("target")), {"language": emergency["language"]})
            return send_route(dispatcher, route, routes)
        need = previous_need(tracker.events)
        asks_of_the_service = not has_any_word(routes.this_chat_words, text)
        if need is not None and asks_of_the_service and not written_in_english_or_swedish(text):
            # "Saako palveluneuvosta palvelua ruotsiksi?" in Finnish right after that team: a question
            # on the need, not about this chat's language.
            return send_follow_up(dispatcher, tracker, need, routes, self)
        tell_the_chat_is_finnish(dispatcher, routes, self.clock())
        return []
