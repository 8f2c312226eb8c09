"""The contact request form and feedback against a real handoff service app (and one that is down)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.actions_contact import (
    FORM_SLOTS,
    ActionAskContactConsent,
    ActionAskContactTeam,
    ActionCancelContactRequest,
    ActionSubmitContactRequest,
    ValidateContactRequestForm,
    reset_form_slots,
    team_choice,
)
from actions.actions_feedback import ActionSubmitFeedback, ValidateFeedbackForm
from actions.actions_routing import ActionRoute
from actions.outbox import ContactOutbox
from handoff.models import ContactRequest, Feedback
from opastin import messages
from opastin.privacy import HETU_MASK
from opastin.routes import default_routes
from tests.actions.conftest import down, make_tracker, user_event

FILLED = {
    "contact_team": "neuvola",
    "contact_topic": "Lastenneuvola",
    "contact_message": "Haluaisin kysyä lapseni rokotuksista",
    "contact_method": "phone",
    "contact_value": "0401234567",
    "contact_consent": True,
}
CLEARED = reset_form_slots()


def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def validate(slot: str, value: Any, slots: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Run ``validate_<slot>``; return the slots it sets and the responses it sends."""
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateContactRequestForm(), f"validate_{slot}")
    result = method(value, dispatcher, make_tracker(slots=slots or {}), {})
    return result, [message["response"] for message in dispatcher.messages]


def stored_requests(service: Any) -> list[ContactRequest]:
    with service.db.reading() as session:
        return list(session.execute(select(ContactRequest)).scalars())


# --- the form starts from the route decision ----------------------------------------------------


def test_a_request_after_a_team_decision_is_for_that_team(tracker_for):
    neuvola = {"custom": {"route": {"type": "team", "target": "neuvola"}}}
    earlier = [user_event("lapsen rokotukset", "child_health_clinic"), {"event": "bot", "data": neuvola}]
    tracker = tracker_for("Jätä yhteydenottopyyntö", "contact_request", earlier=earlier)
    messages, events = run(ActionRoute(down), tracker)
    assert messages[0]["custom"]["route"] == {"type": "form", "target": "contact_request"}
    assert events[-3:] == [
        SlotSet("contact_team", "neuvola"),
        SlotSet("contact_topic", "Lastenneuvola"),
        FollowupAction("contact_request_form"),
    ]
    assert all(event in events for event in CLEARED)


def test_a_team_named_in_the_request_is_taken(tracker_for):
    tracker = tracker_for("haluan jättää soittopyynnön hammashoitolaan", "contact_request")
    _, events = run(ActionRoute(down), tracker)
    assert events[-3:] == [
        SlotSet("contact_team", "suun_terveydenhuolto"),
        SlotSet("contact_topic", "Suun terveydenhuolto"),
        FollowupAction("contact_request_form"),
    ]


def test_without_a_team_the_form_asks_for_one(tracker_for):
    _, events = run(ActionRoute(down), tracker_for("voiko teille jättää viestin", "contact_request"))
    assert events[-len(CLEARED) - 1 :] == [*CLEARED, FollowupAction("contact_request_form")]


# --- each answer is validated -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "team"), [("Neuvola", "neuvola"), ("hammashoitola", "suun_terveydenhuolto")]
)
def test_the_team_from_a_button_or_words(answer, team):
    assert validate("contact_team", answer) == ({"contact_team": team}, [])


def test_an_unknown_team_is_asked_again():
    assert validate("contact_team", "en tiedä") == ({"contact_team": None}, ["utter_contact_team_unknown"])


def test_an_identity_code_in_the_message_is_removed():
    result, responses = validate("contact_message", "Reseptin uusinta, hetu 131052-308T")
    assert result == {"contact_message": f"Reseptin uusinta, hetu {HETU_MASK}"}
    assert responses == []


def test_a_message_without_content_is_asked_again():
    result, responses = validate("contact_message", "moi")
    assert (result, responses) == ({"contact_message": None}, ["utter_contact_message_too_short"])


def test_a_phone_number_typed_for_the_method_fills_both():
    result, _ = validate("contact_method", "040 123 4567")
    assert result == {"contact_method": "phone", "contact_value": "0401234567"}


def test_an_unclear_method_is_asked_again():
    assert validate("contact_method", "kumpi vaan") == (
        {"contact_method": None},
        ["utter_contact_method_unknown"],
    )


def test_an_invalid_number_is_asked_again_with_an_example():
    result, responses = validate("contact_value", "12345", {"contact_method": "phone"})
    assert (result, responses) == ({"contact_value": None}, ["utter_contact_value_invalid_phone"])


def test_a_mobile_number_missing_digits_is_told_kindly():
    dispatcher = CollectingDispatcher()
    validator = ValidateContactRequestForm()
    tracker = make_tracker(slots={"contact_method": "phone"})
    result = validator.validate_contact_value("040 12345", dispatcher, tracker, {})
    assert result == {"contact_value": None}
    assert dispatcher.messages[0]["text"].startswith("Numerosta näyttää puuttuvan numeroita")


def test_a_foreign_number_asks_for_a_finnish_one_or_an_address():
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"contact_method": "phone"})
    result = ValidateContactRequestForm().validate_contact_value("+46 70 123 4567", dispatcher, tracker, {})
    assert result == {"contact_value": None}
    assert dispatcher.messages[0]["text"].startswith("Ammattilaiset voivat soittaa vain suomalaiseen")


def test_a_foreign_number_for_the_method_asks_for_a_finnish_one():
    dispatcher = CollectingDispatcher()
    result = ValidateContactRequestForm().validate_contact_method(
        "+46 70 123 4567, asun tukholmassa", dispatcher, make_tracker(), {}
    )
    assert result == {"contact_method": "phone"}
    assert dispatcher.messages[0]["text"].startswith("Ammattilaiset voivat soittaa vain suomalaiseen")


def test_a_second_foreign_number_is_answered_in_other_words():
    told = messages.text("bot.contact.phone_foreign")
    events = [
        user_event("+46 70 123 4567", "contact_request"),
        {"event": "bot", "text": told},
        user_event("+46 70 123 4576", "contact_request"),
    ]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(*events, slots={"contact_method": "phone"})
    ValidateContactRequestForm().validate_contact_value("+46 70 123 4576", dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"].startswith("Tämäkin on ulkomainen numero")


def test_a_number_in_a_sentence_is_taken():
    result, responses = validate("contact_value", "sori, 040 1234567", {"contact_method": "phone"})
    assert (result, responses) == ({"contact_value": "0401234567"}, [])


def test_an_address_given_when_phone_was_chosen_switches_the_method():
    result, _ = validate("contact_value", "liisa@posti.fi", {"contact_method": "phone"})
    assert result == {"contact_method": "email", "contact_value": "liisa@posti.fi"}


@pytest.mark.parametrize(("answer", "consent"), [("kyllä", True), ("ei", False), ("mitä?", None)])
def test_consent(answer, consent):
    result, _ = validate("contact_consent", answer)
    assert result == {"contact_consent": consent}


def answer(slot: str, text: str, slots: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[Any]]:
    """Validate ``text`` given at the step ``slot`` as the form does; the slots set and the messages sent."""
    dispatcher = CollectingDispatcher()
    events = [user_event(text, "nlu_fallback"), {"event": "slot", "name": slot, "value": text}]
    tracker = make_tracker(*events, slots={**(slots or {}), slot: text})
    result = asyncio.run(ValidateContactRequestForm().get_validation_events(dispatcher, tracker, FORM_DOMAIN))
    return {event["name"]: event["value"] for event in result}, dispatcher.messages


FORM_DOMAIN = {"forms": {"contact_request_form": {"required_slots": list(FORM_SLOTS)}}}
FILLED_UP_TO_CONSENT = {key: value for key, value in FILLED.items() if key != "contact_consent"}


def test_a_corrected_number_at_the_confirmation_replaces_just_the_number():
    slots = {**FILLED_UP_TO_CONSENT, "contact_value": "0401234560"}
    result, said = answer("contact_consent", "numero meni väärin, se on 040 1234567", slots)
    assert result == {"contact_method": "phone", "contact_value": "0401234567", "contact_consent": None}
    assert [message["response"] for message in said] == ["utter_contact_corrected_contact"]


def test_switching_to_email_at_the_confirmation_takes_the_address():
    text = "laita mieluummin sähköpostiin liisa@posti.fi"
    result, _ = answer("contact_consent", text, FILLED_UP_TO_CONSENT)
    assert result == {"contact_method": "email", "contact_value": "liisa@posti.fi", "contact_consent": None}


def test_repeating_the_same_number_with_a_yes_is_a_yes():
    result, _ = answer("contact_consent", "kyllä, 040 1234567 on oikein", FILLED_UP_TO_CONSENT)
    assert result == {"contact_consent": True}


def test_saying_something_is_wrong_asks_for_the_right_detail():
    result, said = answer("contact_consent", "numero meni väärin", FILLED_UP_TO_CONSENT)
    assert result == {"contact_consent": None}
    assert [message["response"] for message in said] == ["utter_contact_ask_correction"]


def test_the_team_can_be_changed_at_a_later_step():
    slots = {"contact_team": "suun_terveydenhuolto", "contact_topic": "Hammashoito"}
    result, said = answer("contact_message", "ei kun siis neuvola", slots)
    assert result == {"contact_team": "neuvola", "contact_topic": "Neuvola", "contact_message": None}
    assert said[0]["response"] == "utter_contact_corrected_team"
    assert said[0]["team_name"] == "Neuvola"


def test_a_team_changed_at_the_confirmation_with_a_reason_is_a_correction():
    text = (
        "hetkinen, laitetaanko se sittenki mielenterveys- ja päihdepalveluihin, "
        "se pelaaminen on kuitenki se juurisyy"
    )
    result, said = answer("contact_consent", text, FILLED_UP_TO_CONSENT)
    assert result["contact_team"] == "mielenterveys_paihde"
    assert said[0]["response"] == "utter_contact_corrected_team"


def test_a_message_naming_a_team_is_a_message_not_a_correction():
    slots = {"contact_team": "suun_terveydenhuolto"}
    text = "Haluaisin kysyä, voiko neuvolan kautta saada ajan hammastarkastukseen lapselle"
    result, said = answer("contact_message", text, slots)
    assert result == {"contact_message": text}
    assert said == []


@pytest.mark.parametrize("text", ["hammashoitoon", "sinne hammaslääkärille"])
def test_a_team_name_given_for_the_message_keeps_the_team_and_asks_the_message_again(text):
    slots = {"contact_team": "suun_terveydenhuolto", "contact_topic": "Suun terveydenhuolto"}
    result, said = answer("contact_message", text, slots)
    assert result == {"contact_message": None}
    assert said[0]["response"] == "utter_contact_team_confirmed"
    assert said[0]["team_name"] == "Suun terveydenhuolto"


def test_an_addition_at_the_confirmation_is_added_to_the_message_and_read_back_again():
    text = "laita vielä viestiin, että lääkkeet loppuu perjantaina"
    result, said = answer("contact_consent", text, FILLED_UP_TO_CONSENT)
    message = f"{FILLED['contact_message']}\nlääkkeet loppuu perjantaina"
    assert result == {"contact_message": message, "contact_consent": None}
    assert [m["response"] for m in said] == ["utter_contact_added_to_message"]


def test_a_correction_of_the_message_at_the_confirmation_is_added_to_it_and_read_back_again():
    text = "ei hitto, lääke on lamictal eikä keppra, sekotin miehen lääkkeeseen"
    result, said = answer("contact_consent", text, FILLED_UP_TO_CONSENT)
    assert result == {"contact_message": f"{FILLED['contact_message']}\n{text}", "contact_consent": None}
    assert [m["response"] for m in said] == ["utter_contact_added_to_message"]


@pytest.mark.parametrize("text", ["ei, älä tallenna tietojani", "ei kiitos, en halua lähettää"])
def test_a_refusal_at_the_confirmation_is_not_a_correction(text):
    result, _ = answer("contact_consent", text, FILLED_UP_TO_CONSENT)
    assert result.get("contact_message") is None
    assert result.get("contact_consent") in (False, None)


@pytest.mark.parametrize("text", ["nyt oikein, lähetä", "nyt on oikein, lähetä vaan"])
def test_a_yes_later_in_a_short_answer_sends(text):
    result, _ = answer("contact_consent", text, FILLED_UP_TO_CONSENT)
    assert result == {"contact_consent": True}


def test_the_message_can_be_rewritten_at_a_later_step():
    slots = {key: FILLED[key] for key in ("contact_team", "contact_message", "contact_method")}
    result, said = answer("contact_value", "haluun muuttaa viestiä", slots)
    assert result == {"contact_message": None, "contact_value": None}
    assert said[0]["response"] == "utter_contact_corrected_message"


def test_the_contact_method_can_be_switched_before_the_detail():
    slots = {key: FILLED[key] for key in ("contact_team", "contact_message", "contact_method")}
    result, said = answer("contact_value", "ei kun sittenkin sähköpostiin", slots)
    assert result == {"contact_method": "email", "contact_value": None}
    assert said[0]["response"] == "utter_contact_corrected_method"
    assert said[0]["how"] == "sähköpostitse"


def events_of(slot: str, text: str, intent: str, slots: dict[str, Any]) -> tuple[list[Any], list[str]]:
    """Validate ``text`` (classified ``intent``) at the step ``slot``: the events and the responses."""
    dispatcher = CollectingDispatcher()
    events = [user_event(text, intent), {"event": "slot", "name": slot, "value": text}]
    tracker = make_tracker(*events, slots={**slots, slot: text})
    result = asyncio.run(ValidateContactRequestForm().get_validation_events(dispatcher, tracker, FORM_DOMAIN))
    return result, [message["response"] for message in dispatcher.messages]


UP_TO_METHOD = {key: FILLED[key] for key in ("contact_team", "contact_topic", "contact_message")}


def test_another_matter_where_the_method_is_asked_sets_the_form_aside_and_is_routed():
    text = "pelaan liikaa rahapelejä enkä saa lopetettua vaikka oon yrittäny"
    events, said = events_of("contact_method", text, "substance_use", UP_TO_METHOD)
    assert said == ["utter_contact_set_aside"]
    assert events[-3:] == [SlotSet("requested_slot", None), ActiveLoop(None), FollowupAction("action_route")]
    assert all(event in events for event in CLEARED)


def test_a_factual_question_at_the_confirmation_is_answered_instead():
    text = "miten sen lääkäriajan saa peruttua ettei tule maksua"
    events, said = events_of("contact_consent", text, "faq", {**FILLED_UP_TO_CONSENT})
    assert said == ["utter_contact_set_aside"]
    assert events[-1] == FollowupAction("action_answer")


def test_more_on_the_form_s_own_matter_is_added_to_the_message():
    text = "tyttö ei saanut rokotetta neuvolassa kun oli kuumeessa, tarvittais uus aika"
    events, said = events_of("contact_method", text, "child_health_clinic", UP_TO_METHOD)
    assert said == ["utter_contact_added_to_message"]
    assert events == [
        SlotSet("contact_message", f"{FILLED['contact_message']}\n{text}"),
        SlotSet("contact_method", None),
    ]


def test_an_identity_code_in_more_on_the_message_is_masked():
    text = "tytön rokotus jäi väliin, hänen henkilötunnus on 131052-308T, tarvitaan uusi aika"
    events, said = events_of("contact_method", text, "child_health_clinic", UP_TO_METHOD)
    assert said == ["utter_contact_added_to_message"]
    assert "131052-308T" not in events[0]["value"] and HETU_MASK in events[0]["value"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("040 1234567 on mun numero", "lab_results"),  # a number, however it was classified
        ("+46 70 123 4567, asun tukholmassa", "income_support"),  # a foreign number is an answer too
        ("soittakaa vaan iltapäivällä", "contact_request"),
        ("en tiedä mitä tähän laitan", "mental_health"),  # an answer of no known shape, still the form's
    ],
)
def test_answers_of_the_step_are_not_another_matter(text, intent):
    events, said = events_of("contact_method", text, intent, UP_TO_METHOD)
    assert "utter_contact_set_aside" not in said
    assert not any(event.get("event") == "followup" for event in events)


def test_a_team_named_where_the_message_is_asked_is_no_message():
    slots = {key: FILLED[key] for key in ("contact_team", "contact_topic")}
    events, said = events_of(
        "contact_message", "neuvolaan kai, tai sinne lastenneuvolaan", "nlu_fallback", slots
    )
    assert said == ["utter_contact_team_confirmed"]
    assert events == [SlotSet("contact_message", None)]


def test_a_team_with_the_matter_where_the_message_is_asked_is_the_message():
    slots = {key: FILLED[key] for key in ("contact_team", "contact_topic")}
    text = "Neuvolaan. Pyydän uutta aikaa rokotukseen"
    events, said = events_of("contact_message", text, "child_health_clinic", slots)
    assert said == []
    assert events == [SlotSet("contact_message", text)]


def test_cancelling_an_appointment_as_the_message_does_not_stop_the_form():
    slots = {key: FILLED[key] for key in ("contact_team", "contact_topic")}
    text = "peruutan keskiviikon klo 8.30 laboratorioajan, matti virtanen"
    events, said = events_of("contact_message", text, "cancel", slots)
    assert events == [SlotSet("contact_message", text)]


def test_slots_emptied_when_the_form_starts_are_not_judged():
    """The opening message is not an answer to every step (four error messages before the first question)."""
    dispatcher = CollectingDispatcher()
    events = [user_event("haluan jättää soittopyynnön", "contact_request"), *reset_form_slots()]
    tracker = make_tracker(*events, slots={})
    result = asyncio.run(ValidateContactRequestForm().get_validation_events(dispatcher, tracker, FORM_DOMAIN))
    assert dispatcher.messages == []
    assert all(event["value"] is None for event in result)


def test_the_consent_question_reads_back_the_team_and_contact():
    messages, _ = run(ActionAskContactConsent(), make_tracker(slots=FILLED))
    assert messages[0]["response"] == "utter_ask_contact_consent"
    assert messages[0]["team_name"] == "Neuvola"
    assert messages[0]["contact"] == "puhelimitse numeroon 040 123 4567"
    assert [button["payload"] for button in messages[0]["buttons"]] == ["kyllä", "ei", "/cancel"]


# --- submitting -------------------------------------------------------------------------------


def test_the_request_is_stored_and_the_resident_gets_a_reference(service, tmp_path):
    action = ActionSubmitContactRequest(service.factory, lambda: ContactOutbox(tmp_path / "outbox"))
    messages, events = run(action, make_tracker(slots=FILLED))

    assert events == CLEARED
    message = messages[0]
    assert message["response"] == "utter_contact_sent"
    assert re.fullmatch(r"YP-2026-\d{6}", message["reference"])
    assert message["promise"] == "Otamme sinuun yhteyttä kahden arkipäivän kuluessa."
    assert message["contact"] == "puhelimitse numeroon 040 123 4567"
    assert message["custom"] == {"contact_request": {"team": "neuvola"}}  # for "when will they call?"
    [stored] = stored_requests(service)
    assert (stored.reference, stored.team_id, stored.topic, stored.contact_value, stored.conversation_id) == (
        message["reference"],
        "neuvola",
        "Lastenneuvola",
        "0401234567",
        "test",
    )


def test_without_consent_nothing_is_stored(service, tmp_path):
    action = ActionSubmitContactRequest(service.factory, lambda: ContactOutbox(tmp_path / "outbox"))
    messages, _ = run(action, make_tracker(slots={**FILLED, "contact_consent": False}))
    assert messages[0]["response"] == "utter_contact_not_sent"
    assert messages[0]["phone"] == "015 211 8400"
    assert stored_requests(service) == []


def test_when_the_service_is_down_the_request_waits_in_the_outbox_and_is_delivered_once(service, tmp_path):
    outbox = ContactOutbox(tmp_path / "outbox")
    started = []
    action = ActionSubmitContactRequest(down, lambda: outbox, on_queued=lambda: started.append(True))

    messages, _ = run(action, make_tracker(slots=FILLED))

    assert messages[0]["response"] == "utter_contact_queued"
    assert messages[0]["promise"] == "Otamme sinuun yhteyttä kahden arkipäivän kuluessa."
    assert started == [True]
    assert len(outbox.pending()) == 1
    # The service comes back; a retry of the same request (a lost answer) is stored once.
    [waiting] = outbox.pending()
    request_copy = ContactOutbox(tmp_path / "copy")
    request_copy.put(json.loads(waiting.read_text()))
    assert outbox.deliver(service.client.create_contact_request) == 1
    assert request_copy.deliver(service.client.create_contact_request) == 1
    [stored] = stored_requests(service)
    assert stored.message == FILLED["contact_message"]


def test_when_even_the_outbox_fails_the_resident_is_told_honestly(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    action = ActionSubmitContactRequest(down, lambda: ContactOutbox(blocked / "outbox"), on_queued=list)
    messages, _ = run(action, make_tracker(slots=FILLED))
    assert messages[0]["response"] == "utter_contact_failed"
    assert messages[0]["phone"] == "015 211 8400"


def test_cancelling_clears_the_form():
    messages, events = run(ActionCancelContactRequest(), make_tracker(slots=FILLED))
    assert [message["response"] for message in messages] == ["utter_contact_cancelled"]
    assert events == CLEARED


def test_taking_leave_in_the_form_says_nothing_was_sent():
    tracker = make_tracker(user_event("kiitos, moikka", "goodbye"), slots=FILLED)
    messages, events = run(ActionCancelContactRequest(), tracker)
    assert [message["response"] for message in messages] == ["utter_contact_left_unsent"]
    assert events == CLEARED


# --- feedback -----------------------------------------------------------------------------------


def test_a_rating_and_comment_are_stored(service):
    tracker = make_tracker(slots={"feedback_rating": "4", "feedback_comment": "Nopea vastaus"})
    messages, events = run(ActionSubmitFeedback(service.factory), tracker)
    assert [message["response"] for message in messages] == ["utter_feedback_thanks"]
    assert events == [
        SlotSet("feedback_rating", None),
        SlotSet("feedback_comment", None),
        SlotSet("rating_due", False),
    ]
    with service.db.reading() as session:
        [stored] = session.execute(select(Feedback)).scalars()
    assert (stored.rating, stored.comment, stored.conversation_id) == (4, "Nopea vastaus", "test")


def test_feedback_without_a_comment(service):
    tracker = make_tracker(slots={"feedback_rating": "5", "feedback_comment": ""})
    run(ActionSubmitFeedback(service.factory), tracker)
    with service.db.reading() as session:
        [stored] = session.execute(select(Feedback)).scalars()
    assert (stored.rating, stored.comment) == (5, None)


def test_feedback_when_the_service_is_down():
    tracker = make_tracker(slots={"feedback_rating": "2", "feedback_comment": ""})
    messages, _ = run(ActionSubmitFeedback(down), tracker)
    assert [message["response"] for message in messages] == ["utter_feedback_not_stored"]


def test_an_unclear_rating_is_asked_again():
    dispatcher = CollectingDispatcher()
    result = ValidateFeedbackForm().validate_feedback_rating("hyvä", dispatcher, make_tracker(), {})
    assert result == {"feedback_rating": None}
    assert dispatcher.messages[0]["response"] == "utter_feedback_rating_unclear"


def test_the_team_question_lists_every_team_of_the_catalogue(tracker_for):
    dispatcher = CollectingDispatcher()
    ActionAskContactTeam().run(dispatcher, tracker_for("jätän viestin", "contact_request"), {})

    (asked,) = dispatcher.messages
    assert asked["text"] == "Mille palvelulle haluat jättää viestin? Valitse palvelu tai kirjoita sen nimi."
    titles = [button["title"] for button in asked["buttons"]]
    assert titles == [team.name for team in default_routes().teams.values()] + ["Peruuta"]
    assert all(team_choice(button["payload"]) for button in asked["buttons"][:-1])  # each is understood


def test_stopping_in_own_words_ends_the_form_without_storing():
    result, said = answer("contact_method", "anteeks, poika tuli kotiin. peru tää", FILLED_UP_TO_CONSENT)
    assert result == {"contact_method": None, "requested_slot": None}
    assert said == []


def test_a_description_at_the_team_question_gives_the_team_and_the_message():
    dispatcher = CollectingDispatcher()
    text = "isä 87v ei pärjää enää yksin kotona, on kaatuillu monta kertaa"
    tracker = make_tracker(user_event(text, "elderly_services"), slots={})
    result = ValidateContactRequestForm().validate_contact_team(text, dispatcher, tracker, {})
    assert result == {"contact_team": "palveluneuvo", "contact_message": text}


def test_a_matter_told_with_a_question_at_the_team_question_gives_its_team():
    dispatcher = CollectingDispatcher()
    text = "menkat 10pv myöhäs, testi negatiivinen, haluun tietää mitä tehä ja haluisin aloittaa ehkäisyn"
    tracker = make_tracker(user_event(text, "child_health_clinic"), slots={})
    result = ValidateContactRequestForm().validate_contact_team(text, dispatcher, tracker, {})
    assert result["contact_team"] == "neuvola"
    short = "En tiedä mikä ryhmä. Mitä niitä on?"  # asks which service there is: asked again
    tracker = make_tracker(user_event(short, "child_health_clinic"), slots={})
    assert ValidateContactRequestForm().validate_contact_team(short, dispatcher, tracker, {}) == {
        "contact_team": None
    }


def test_cancelling_an_appointment_as_the_message_is_the_message_not_stopping(tracker_for):
    slots = {"requested_slot": "contact_message", "contact_team": "terveysneuvo"}
    tracker = tracker_for("peruutan keskiviikon klo 8.30 laboratorioajan", "cancel", slots=slots)
    messages, events = run(ActionCancelContactRequest(), tracker)
    message = SlotSet("contact_message", "peruutan keskiviikon klo 8.30 laboratorioajan")
    assert (messages, events) == ([], [message, FollowupAction("contact_request_form")])
    tracker = tracker_for("peruuta koko juttu", "cancel", slots=slots)
    messages, _ = run(ActionCancelContactRequest(), tracker)
    assert [m["response"] for m in messages] == ["utter_contact_cancelled"]


def test_send_alone_at_the_confirmation_sends_though_the_classifier_read_stopping(tracker_for):
    slots = {**FILLED_UP_TO_CONSENT, "requested_slot": "contact_consent"}
    tracker = tracker_for("lähetä", "cancel", slots=slots)
    messages, events = run(ActionCancelContactRequest(), tracker)
    sent = [SlotSet("contact_consent", True), FollowupAction("contact_request_form")]
    assert (messages, events) == ([], sent)
    for taken_back in ("älä lähetä", "lähetä... ei kun peru koko juttu"):
        tracker = tracker_for(taken_back, "cancel", slots=slots)
        messages, _ = run(ActionCancelContactRequest(), tracker)
        assert [m["response"] for m in messages] == ["utter_contact_cancelled"]


@pytest.mark.parametrize("text", ["kiitos", "okei kiitti paljon", "kiitos tosi paljon"])
def test_thanks_for_the_message_are_answered_and_the_question_stands(text):
    result, responses = validate("contact_message", text)
    assert (result, responses) == ({"contact_message": None}, ["utter_you_are_welcome_short"])


def test_a_message_that_thanks_and_tells_the_matter_is_kept():
    text = "kiitos, haluaisin kysyä isän kotihoidosta"
    assert validate("contact_message", text) == ({"contact_message": text}, [])
