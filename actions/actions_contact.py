"""The contact request form: validate each answer, ask for consent, store through the handoff service.

Thin Rasa actions over :mod:`actions.contact_form` (the rules of a valid
answer) and :mod:`actions.outbox` (keeping the request when the service is
down). The form starts from :class:`actions.actions_routing.ActionRoute`,
which fills ``contact_team`` when the conversation already named a team.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import contact_form
from actions.actions_escalation import ClientFactory, EscalationAction, buttons, local_team
from actions.context import SENT_CONTACT_REQUEST, turn_texts
from actions.handoff_client import HandoffServiceError, InvalidRequest, shared_client
from actions.outbox import ContactOutbox, Courier, default_outbox
from actions.routing import answer_asked, find_team, is_question, only_thanks
from opastin import messages
from opastin.finnish_time import reply_promise
from opastin.routes import default_routes, normalise

logger = logging.getLogger(__name__)

FORM = "contact_request_form"
FORM_SLOTS = ("contact_team", "contact_message", "contact_method", "contact_value", "contact_consent")

OutboxFactory = Callable[[], ContactOutbox]
# A team named in a longer answer is part of the message, not a correction of the team.
MAX_CORRECTION_WORDS = 16
# A team's name alone ("hammashoitoon") at a later step changes the team.
MAX_TEAM_NAME_WORDS = 2
# An answer to "which team?" this long describes the matter: it is the message too.
MIN_DESCRIPTION_WORDS = 6
MIN_INTENT_CONFIDENCE = 0.5
# A message this sure of another matter, where the form wants a contact detail or a yes, is a new
# matter rather than an answer ("pelaan liikaa rahapelejä" to "puhelimitse vai sähköpostitse?").
MIN_NEW_MATTER_CONFIDENCE = 0.8
MIN_NEW_MATTER_WORDS = 3
# The steps after the message: their answers are short and of a known shape.
DETAIL_STEPS = ("contact_method", "contact_value", "contact_consent")
ANSWER_INTENT = "faq"


def cancel_button() -> tuple[str, str]:
    """Stop filling in the contact request."""
    return messages.text("bot.buttons.cancel"), "/cancel"


def reset_form_slots() -> list[EventType]:
    """Empty every slot of the form (and its topic), so the next request starts from the beginning."""
    return [SlotSet(slot, None) for slot in (*FORM_SLOTS, "contact_topic")]


def intent_team(tracker: Tracker) -> str | None:
    """The team the latest message's intent is routed to, when the classifier is fairly sure of it."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    route = default_routes().intents.get(str(intent.get("name")))
    sure = float(intent.get("confidence") or 0.0) >= MIN_INTENT_CONFIDENCE
    return route.target if route is not None and route.type == "team" and sure else None


# Words that stand beside a team's name without saying what the matter is ("se on mummon asia,
# ikäihmisten palvelut varmaan", "sinne vanhuspalveluihin, palveluneuvo vai mikä se oli").
_TEAM_ANSWER_FILLERS = frozenset(
    {"se", "on", "oli", "ois", "olis", "varmaan", "vissiin", "kai", "kait", "ehka", "sinne", "tanne",
     "vai", "mika", "no", "sitten", "sit", "puoli", "puolelle", "puolen", "asia", "asiaa", "ja", "tai",
     "niin", "joo", "ne", "ihan", "just", "luulen", "taitaa", "olla", "mun", "minun", "hanen", "sen",
     "mummon", "aidin", "isan", "tiimi", "ryhma", "palvelut", "palveluun", "palveluihin", "palveluja",
     "kanssa", "siis", "koskee", "koskien", "liittyy", "liittyen", "asiassa"}
)  # fmt: skip
MIN_MATTER_WORDS = 3
# Beside a team's name, fewer words describe the matter: "palveluneuvoon, isän omaishoidon tuki".
MIN_MATTER_WORDS_BESIDE_A_NAME = 2


def matter_words(text: str, keywords_count: bool = False) -> list[str]:
    """The words of an answer that neither name a team nor only stand beside its name. With
    ``keywords_count``, a team's keyword other than its name is a word of the matter ("isän
    kotihoito, äiti on ihan väsyny"), as the name is what names the team."""
    teams = default_routes().teams.values()
    keywords = _team_names() if keywords_count else [keyword for team in teams for keyword in team.keywords]
    return [
        word
        for word in normalise(text).split()
        if word not in _TEAM_ANSWER_FILLERS and not any(keyword in word for keyword in keywords)
    ]


def _team_names() -> list[str]:
    """The first word of each team's name, normalised ("palveluneuvo", "mielenterveys")."""
    return [normalise(team.name).split()[0] for team in default_routes().teams.values()]


def names_a_team(text: str) -> bool:
    """Whether ``text`` names a team by its name ("palveluneuvoon"), not only by a matter."""
    return any(name in word for word in normalise(text).split() for name in _team_names())


def says_the_matter(text: str) -> bool:
    """Whether an answer says what the matter is, a team's keywords counting as its words: three
    of them, or two beside the team's name ("palveluneuvoon, isän omaishoidon tuki")."""
    enough = MIN_MATTER_WORDS_BESIDE_A_NAME if names_a_team(text) else MIN_MATTER_WORDS
    return len(matter_words(text, keywords_count=True)) >= enough


def describes_the_matter(text: str) -> bool:
    """Whether an answer to "which service?" also says what the matter is: enough words that
    neither name a team nor only stand beside its name, or a team's name and the matter beside it."""
    if len(text.split()) >= MIN_DESCRIPTION_WORDS and len(matter_words(text)) >= MIN_MATTER_WORDS:
        return True
    return names_a_team(text) and says_the_matter(text)


# A question at the team question longer than this tells a matter ("menkat 10pv myöhäs, testi
# negatiivinen, haluun tietää mitä tehä ja haluisin aloittaa ehkäisyn"), it does not ask which
# service there is.
MAX_SERVICE_QUESTION_WORDS = 8


def asks_which_service(text: str) -> bool:
    """Whether an answer to "which service?" asks it back ("En tiedä mikä ryhmä. Mitä niitä on?"):
    a short question, not a matter told with a question in it."""
    return is_question(text) and len(text.split()) <= MAX_SERVICE_QUESTION_WORDS


def team_choice(text: str) -> str | None:
    """The team a resident chose by a button (its name) or named in their own words."""
    routes = default_routes()
    stripped = text.strip()
    for team_id, team in routes.teams.items():
        if stripped.casefold() in (team_id.casefold(), team.name.casefold()):
            return team_id
    return find_team(text, routes)


def matter_of(text: str, tracker: Tracker, step: str) -> tuple[bool, str | None]:
    """Whether an answer at a detail step (after the message) is rather about a matter, and that
    matter's team if it has one: a factual question by its keywords ("miten sen ajan saa peruttua?"
    to "puhelimitse vai sähköpostitse?"), or a message the classifier routes with confidence. At the
    team and message steps a description of the matter is the answer itself."""
    if step not in DETAIL_STEPS or len(text.split()) < MIN_NEW_MATTER_WORDS:
        return False, None
    if contact_form.looks_like_an_answer(text):
        return False, None
    routes = default_routes()
    topic = answer_asked(text, routes)
    if topic is not None:
        return True, routes.answers[topic].team
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = str(intent.get("name"))
    route = routes.intents.get(name)
    sure = float(intent.get("confidence") or 0.0) >= MIN_NEW_MATTER_CONFIDENCE
    if not sure or (name != ANSWER_INTENT and (route is None or route.type == "form")):
        return False, None
    return True, route.target if route is not None and route.type == "team" else None


def more_on_the_message(text: str, tracker: Tracker) -> str | None:
    """The message with ``text`` added, for a further description of the form's own matter typed
    where a contact detail was asked ("tyttö ei saanut rokotetta…"), if it still fits."""
    if len(text.split()) < MIN_DESCRIPTION_WORDS or not tracker.get_slot("contact_message"):
        return None
    added = contact_form.clean_message(f"{tracker.get_slot('contact_message')}\n{text}")
    return None if contact_form.message_problem(added) else added


def set_aside_for(tracker: Tracker) -> list[EventType]:
    """End the form unsent and hand the latest message to the action its intent goes to."""
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    follow = "action_answer" if intent == ANSWER_INTENT else "action_route"
    return [*reset_form_slots(), SlotSet("requested_slot", None), ActiveLoop(None), FollowupAction(follow)]


@dataclass(frozen=True)
class Correction:
    """A change to an answer given at an earlier step: the slots to set and what to say."""

    slots: dict[str, Any]
    response: str
    values: dict[str, Any] = field(default_factory=dict)


def _how(method: str) -> str:
    return messages.text(
        "bot.contact.by_email_short" if method == contact_form.EMAIL else "bot.contact.by_phone_short"
    )


def earlier_correction(text: str, tracker: Tracker, asking: str) -> Correction | None:
    """A correction of an answer given before the step now asked (``asking``), or ``None``.

    "ei kun siis neuvola" changes the team, "muuta viestiä" asks the message again,
    "sittenkin sähköpostiin" switches the contact method, a new number or address
    replaces the old one. The form then goes on from the first empty step.
    """
    filled = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS[: FORM_SLOTS.index(asking)]}
    words = len(text.split())
    correcting = contact_form.takes_back(text) and words <= MAX_CORRECTION_WORDS
    # "terveysneuvoon kai, tai sinne terveyskeskukseen" to "what is it about?" names a team, no matter.
    only_a_team = asking == "contact_message" and not says_the_matter(text)
    team_answer = words <= MAX_TEAM_NAME_WORDS or only_a_team
    if filled.get("contact_team") and (correcting or team_answer):
        team = find_team(text, default_routes())
        if team is not None and team != filled["contact_team"]:
            name = local_team(team).name
            team_slots = {"contact_team": team, "contact_topic": name}
            return Correction(team_slots, "utter_contact_corrected_team", {"team_name": name})
        if team is not None and asking == "contact_message" and team_answer:
            # "hammashoitoon" to "what is it about?": the team again, not the matter; ask once more.
            return Correction({}, "utter_contact_team_confirmed", {"team_name": local_team(team).name})
    if filled.get("contact_message") and (change := contact_form.message_change_with_content(text)):
        added = f"{filled['contact_message']}\n{change}"  # "muuta viestiin kortisonikuuri, ei antibiootti"
        return Correction({"contact_message": added}, "utter_contact_added_to_message")
    if filled.get("contact_message") and contact_form.wants_message_changed(text):
        return Correction({"contact_message": None}, "utter_contact_corrected_message")
    if filled.get("contact_message") and (addition := contact_form.message_addition(text)) is not None:
        added = f"{filled['contact_message']}\n{addition}"
        return Correction({"contact_message": added}, "utter_contact_added_to_message")
    if filled.get("contact_method"):
        method = contact_form.other_method(text, filled["contact_method"])
        if method is not None:
            method_slots = {"contact_method": method, "contact_value": None}
            return Correction(method_slots, "utter_contact_corrected_method", {"how": _how(method)})
    if filled.get("contact_value"):
        detail = contact_form.direct_contact(text)
        if detail is not None and detail != (filled.get("contact_method"), filled["contact_value"]):
            detail_slots = {"contact_method": detail[0], "contact_value": detail[1]}
            return Correction(detail_slots, "utter_contact_corrected_contact")
    if asking == "contact_consent" and (note := contact_form.correction_note(text)) is not None:
        return Correction(
            {"contact_message": f"{filled['contact_message']}\n{note}"}, "utter_contact_added_to_message"
        )
    return None


def said_anew(tracker: Tracker, key: str) -> str:
    """The message ``key``, or its ``_again`` wording when the bot's previous turn said it already."""
    said = messages.text(key)
    return messages.text(f"{key}_again") if said in turn_texts(tracker.events) else said


class ValidateContactRequestForm(FormValidationAction):  # type: ignore[misc]  # rasa-sdk ships no types
    """Check each answer of ``contact_request_form`` and say what is wrong, in Finnish.

    Every step first looks for a correction of an earlier answer. A slot emptied
    when the form starts (``None``) is not an answer and is not judged.
    """

    def name(self) -> str:
        return "validate_contact_request_form"

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate the answers given; a correction of an earlier one wins over the step's own check."""
        for slot, value in tracker.slots_to_validate().items():
            if slot in FORM_SLOTS and value is not None and not isinstance(value, bool):
                if contact_form.wants_to_stop(str(value)) and not contact_form.cancels_an_appointment(
                    str(value), slot
                ):
                    # Ends the form without consent: action_submit_contact_request then stores nothing.
                    return [SlotSet(slot, None), SlotSet("requested_slot", None)]
                correction = earlier_correction(str(value), tracker, slot)
                if correction is not None:
                    dispatcher.utter_message(response=correction.response, **correction.values)
                    return [SlotSet(name, new) for name, new in {**correction.slots, slot: None}.items()]
                is_matter, team = matter_of(str(value), tracker, slot)
                if is_matter and team == tracker.get_slot("contact_team"):
                    added = more_on_the_message(str(value), tracker)
                    if added is not None:
                        dispatcher.utter_message(response="utter_contact_added_to_message")
                        return [SlotSet("contact_message", added), SlotSet(slot, None)]
                elif is_matter:
                    dispatcher.utter_message(response="utter_contact_set_aside")
                    return set_aside_for(tracker)
        events: list[EventType] = await super().get_validation_events(dispatcher, tracker, domain)
        return events

    def validate_contact_team(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A team id from its name, a button or the resident's words; a description of the matter
        ("isä ei pärjää kotona") gives the team it is routed to, and is the message as well."""
        if value is None:
            return {"contact_team": None}
        text = str(value)
        named = team_choice(text)
        # "En tiedä mikä ryhmä. Mitä niitä on?" chooses nothing: the question is asked again.
        team = named or (None if asks_which_service(text) else intent_team(tracker))
        if team is None:
            dispatcher.utter_message(response="utter_contact_team_unknown")
            return {"contact_team": None}
        chosen: dict[str, Any] = {"contact_team": team}
        message = contact_form.clean_message(text)
        described = describes_the_matter(text) and not contact_form.message_problem(message)
        if described and not tracker.get_slot("contact_message"):
            chosen["contact_message"] = message
        return chosen

    def validate_contact_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The message with identity codes masked; too short or too long is asked again."""
        if value is None:
            return {"contact_message": None}
        if only_thanks(str(value)):
            # "kiitos" after the form's first question thanks for the help so far; the question stands.
            dispatcher.utter_message(response="utter_you_are_welcome_short")
            return {"contact_message": None}
        cleaned = contact_form.clean_message(str(value))
        problem = contact_form.message_problem(cleaned)
        if problem is not None:
            dispatcher.utter_message(response=f"utter_contact_message_{problem}")
            return {"contact_message": None}
        return {"contact_message": cleaned}

    def validate_contact_method(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Phone or e-mail; a number or an address typed here fills the contact detail as well."""
        if value is None:
            return {"contact_method": None}
        text = str(value)
        direct = contact_form.direct_contact(text)
        if direct is not None:
            return {"contact_method": direct[0], "contact_value": direct[1]}
        if contact_form.foreign_phone(text):  # "+46 70 123 4567": a Finnish number or an address instead
            dispatcher.utter_message(text=said_anew(tracker, "bot.contact.phone_foreign"))
            return {"contact_method": contact_form.PHONE}
        method = contact_form.contact_method(text)
        if method is None:
            dispatcher.utter_message(response="utter_contact_method_unknown")
        return {"contact_method": method}

    def validate_contact_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A Finnish phone number or an e-mail address, normalised; the other kind switches the method."""
        if value is None:
            return {"contact_value": None}
        text = str(value)
        method = tracker.get_slot("contact_method") or contact_form.PHONE
        normalised = contact_form.contact_value(method, text)
        if normalised is not None:
            return {"contact_value": normalised}
        direct = contact_form.direct_contact(text)
        if direct is not None:
            return {"contact_method": direct[0], "contact_value": direct[1]}
        if method == contact_form.PHONE and contact_form.phone_too_short(text):
            dispatcher.utter_message(text=messages.text("bot.contact.phone_too_short"))
        elif contact_form.foreign_phone(text):
            dispatcher.utter_message(text=said_anew(tracker, "bot.contact.phone_foreign"))
        else:
            dispatcher.utter_message(response=f"utter_contact_value_invalid_{method}")
        return {"contact_value": None}

    def validate_contact_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no; "numero meni väärin" alone asks for the right detail; anything else unclear: again.

        A corrected detail itself ("se on 040 1234567") is taken by :func:`earlier_correction`.
        """
        if value is None or isinstance(value, bool):
            return {"contact_consent": value}
        text = str(value)
        if contact_form.phone_too_short(text):
            dispatcher.utter_message(text=messages.text("bot.contact.phone_too_short"))
            return {"contact_consent": None}
        answer = contact_form.yes_or_no(text)
        if answer is None and contact_form.wants_correction(text):
            dispatcher.utter_message(response="utter_contact_ask_correction")
        elif answer is None:
            dispatcher.utter_message(response="utter_contact_consent_unclear")
        return {"contact_consent": answer}


class ActionAskContactTeam(Action):  # type: ignore[misc]  # rasa-sdk ships no types
    """Ask which team the message is for, with a button for every team of the catalogue."""

    def name(self) -> str:
        return "action_ask_contact_team"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        choices = [(team.name, team.name) for team in default_routes().teams.values()]
        question = said_anew(tracker, "bot.contact.ask_team")
        dispatcher.utter_message(text=question, buttons=buttons([*choices, cancel_button()]))
        return []


class ActionAskContactConsent(Action):  # type: ignore[misc]  # rasa-sdk ships no types
    """Read back what will be sent and ask for consent to store it."""

    def name(self) -> str:
        return "action_ask_contact_consent"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        team = local_team(tracker.get_slot("contact_team"))
        contact = contact_form.readable_contact(
            tracker.get_slot("contact_method"), tracker.get_slot("contact_value")
        )
        dispatcher.utter_message(
            response="utter_ask_contact_consent",
            team_name=team.name,
            contact=contact,
            buttons=buttons(
                [
                    (messages.text("bot.buttons.send_yes"), "kyllä"),
                    (messages.text("bot.buttons.send_no"), "ei"),
                    cancel_button(),
                ]
            ),
        )
        return []


@lru_cache(maxsize=1)
def _courier() -> Courier:
    return Courier(default_outbox(), lambda: shared_client().create_contact_request, keep_watching=True)


def start_outbox_courier() -> None:
    """Deliver the outbox's requests for as long as the action server runs (started with it)."""
    _courier().start()


class ActionSubmitContactRequest(EscalationAction):
    """Store the filled-in request; when the service is down, keep it in the outbox and say so."""

    def __init__(
        self,
        client_factory: ClientFactory = shared_client,
        outbox_factory: OutboxFactory = default_outbox,
        on_queued: Callable[[], None] = start_outbox_courier,
    ) -> None:
        super().__init__(client_factory)
        self.outbox_factory = outbox_factory
        self.on_queued = on_queued

    def name(self) -> str:
        return "action_submit_contact_request"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        team = local_team(tracker.get_slot("contact_team"))
        if tracker.get_slot("contact_consent") is not True:
            dispatcher.utter_message(response="utter_contact_not_sent", phone=team.phone)
            return reset_form_slots()
        body = contact_form.contact_request_body(
            team=team.id,
            topic=tracker.get_slot("contact_topic") or team.name,
            message=tracker.get_slot("contact_message"),
            method=tracker.get_slot("contact_method"),
            value=tracker.get_slot("contact_value"),
            conversation_id=tracker.sender_id,
            request_id=uuid.uuid4().hex,
        )
        self._submit(dispatcher, team.name, team.phone, team.reply_within_workdays, body)
        return reset_form_slots()

    def _submit(
        self,
        dispatcher: CollectingDispatcher,
        team_name: str,
        phone: str,
        reply_workdays: int,
        body: dict[str, Any],
    ) -> None:
        outbox = self.outbox_factory()
        try:
            receipt = self.client().create_contact_request(body)
        except InvalidRequest as error:
            logger.error("contact request refused by the service: %s", error)
            dispatcher.utter_message(response="utter_contact_failed", phone=phone)
            return
        except HandoffServiceError as error:
            logger.warning("contact request kept in the outbox: %s", error)
            try:
                outbox.put(body)
            except OSError:
                logger.exception("the contact outbox cannot be written")
                dispatcher.utter_message(response="utter_contact_failed", phone=phone)
                return
            self.on_queued()
            dispatcher.utter_message(
                response="utter_contact_queued",
                promise=reply_promise(reply_workdays),
                phone=phone,
                json_message=sent_marker(body["team"]),
            )
            return
        dispatcher.utter_message(
            response="utter_contact_sent",
            team_name=team_name,
            reference=receipt.reference,
            promise=receipt.reply_promise,
            contact=contact_form.readable_contact(body["contact_method"], body["contact_value"]),
            phone=phone,
            json_message=sent_marker(body["team"]),
        )


def sent_marker(team_id: str) -> dict[str, Any]:
    """The payload that marks the reply to a sent request: later questions of when the professional
    gets in touch are answered from it (:func:`actions.context.sent_contact_request`)."""
    return {SENT_CONTACT_REQUEST: {"team": team_id}}


class ActionCancelContactRequest(Action):  # type: ignore[misc]  # rasa-sdk ships no types
    """The resident stopped the form, or took leave in the middle of it: nothing is stored."""

    def name(self) -> str:
        return "action_cancel_contact_request"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        leaving = (tracker.latest_message.get("intent") or {}).get("name") == "goodbye"
        text = str(tracker.latest_message.get("text") or "")
        step = tracker.get_slot("requested_slot")
        if not leaving and contact_form.cancels_an_appointment(text, step):
            return [SlotSet("contact_message", contact_form.clean_message(text)), FollowupAction(FORM)]
        if not leaving and step == "contact_consent" and contact_form.yes_or_no(text) is True:
            # "lähetä" alone reads to the classifier like "älä lähetä": the words say yes.
            return [SlotSet("contact_consent", True), FollowupAction(FORM)]
        response = "utter_contact_left_unsent" if leaving else "utter_contact_cancelled"
        dispatcher.utter_message(response=response)
        return reset_form_slots()
