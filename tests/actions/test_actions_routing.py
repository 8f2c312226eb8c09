"""The routing actions send the right response, route payload and slot events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions_contact import reset_form_slots
from actions.actions_conversation import ActionOtherLanguage
from actions.actions_routing import ActionEmergency, ActionHandleFallback, ActionRoute, ActionSafetyAnswer
from opastin.finnish_time import HELSINKI
from tests.actions.conftest import down, user_event


def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def message(
    response: str,
    custom: dict[str, Any] | None = None,
    buttons: list[dict[str, str]] | None = None,
    **values: Any,
) -> dict[str, Any]:
    """A message exactly as CollectingDispatcher records it."""
    return {
        "text": None,
        "buttons": buttons or [],
        "elements": [],
        "custom": custom or {},
        "template": response,
        "response": response,
        "image": None,
        "attachment": None,
        **values,
    }


def text_message(
    text: str, buttons: list[dict[str, str]], custom: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A plain text message with buttons, as CollectingDispatcher records it."""
    return {**message(None, custom), "text": text, "buttons": buttons, "template": None, "response": None}


def person(target: str, teams: list[str] | None = None) -> dict[str, Any]:
    """The payload of a person offer."""
    return {"route": {"type": "person", "target": target, "teams": teams or []}}


def test_team_route_names_the_team_with_its_live_availability(tracker_for, service):
    service.agent("hanna", "suun_terveydenhuolto")
    messages, events = run(
        ActionRoute(service.factory, service.clock), tracker_for("hammas särkee", "dental_care")
    )

    route = {"type": "team", "target": "suun_terveydenhuolto", "label": "Suun terveydenhuolto"}
    live = {"open": True, "accepting": True, "queue_length": 0, "estimated_wait_s": 300}
    assert messages[0] == message(
        "utter_route_team",
        {"route": {**route, **live}},
        team_name="Suun terveydenhuolto",
        hours="ma–pe klo 12–14",
        helps="auttaa",
    )
    assert messages[1]["text"].startswith("Suun terveydenhuollon chat on nyt auki. Jonossa ei ole ketään")
    assert events == [
        SlotSet("route_type", "team"),
        SlotSet("route_target", "suun_terveydenhuolto"),
        SlotSet("team_availability", "accepting"),
    ]


def test_symptom_goes_to_its_omaolo_assessment(tracker_for):
    messages, events = run(ActionRoute(), tracker_for("mun pojalla on korva kipee", "report_symptom"))

    url = "https://www.omaolo.fi/palvelut/oirearviot/korvakipu"
    payload = {
        "route": {"type": "omaolo", "target": url, "symptom": "ear_pain", "label": "korvakipu tai lukkoisuus"}
    }
    assert messages == [
        message("utter_route_omaolo_symptom", payload, url=url, symptom_name="korvakipu tai lukkoisuus")
    ]
    assert events == [SlotSet("route_type", "omaolo"), SlotSet("route_target", url)]


def test_the_verb_agrees_with_a_plural_team_name(tracker_for):
    messages, _ = run(ActionRoute(down), tracker_for("olen raskaana", "pregnancy"))

    assert (messages[0]["team_name"], messages[0]["helps"]) == ("Kätilöt", "auttavat")


def test_young_childs_symptom_goes_to_a_team_not_omaolo(tracker_for):
    entities = [{"entity": "age", "value": "3-vuotiaalla", "start": 0, "end": 12}]
    action = ActionRoute(down)
    messages, events = run(action, tracker_for("3-vuotiaalla korvakipu", "report_symptom", entities))

    payload = {
        "route": {
            "type": "team",
            "target": "terveysneuvo",
            "label": "Terveysneuvo",
            "reason": "child_symptom",
            "age": 3,
        }
    }
    assert messages == [
        message(
            "utter_route_child_symptom",
            payload,
            team_name="Terveysneuvo",
            hours="ma–pe klo 8–15",
            helps="auttaa",
            min_age=15,
        ),
        {
            **message(None, buttons=[{"title": "Jätä yhteydenottopyyntö", "payload": "/contact_request"}]),
            "text": "En juuri nyt saa yhteyttä ammattilaisten chat-palveluun, joten en voi tarkistaa, "
            "pääsetkö chattiin. Voit jättää kiireettömän yhteydenottopyynnön, niin ammattilainen ottaa "
            "sinuun yhteyttä. Voit myös katsoa ohjeita verkkosivulta "
            "https://etelasavonha.fi/palvelut/terveyspalvelut/terveysasemat "
            "tai soittaa numeroon 015 211 8000.",
        },
    ]
    assert events == [
        SlotSet("route_type", "team"),
        SlotSet("route_target", "terveysneuvo"),
        SlotSet("team_availability", "unavailable"),
    ]


def test_information_question_gets_the_web_page(tracker_for):
    messages, _ = run(ActionRoute(), tracker_for("paljonko maksaa", "ask_client_fees"))

    url = "https://etelasavonha.fi/asiakasmaksut"
    payload = {"route": {"type": "webpage", "target": url, "page": "client_fees", "label": "Asiakasmaksut"}}
    assert messages == [message("utter_page_client_fees", payload, url=url, label="Asiakasmaksut")]


@pytest.mark.parametrize("action", [ActionRoute, ActionHandleFallback])
def test_asked_after_sending_when_they_call_the_promise_is_told_again_not_a_new_form(tracker_for, action):
    sent = {
        "event": "bot",
        "text": "Kiitos! Viestisi on lähetetty…",
        "data": {"custom": {"contact_request": {"team": "terveysneuvo"}}},
    }
    earlier = [user_event("lähetä", "affirm"), sent]
    text = "Kiitos. Kuinka kauan yleensä kestää, ennen kuin minulle soitetaan?"
    messages, events = run(action(), tracker_for(text, "contact_request", earlier=earlier))
    assert "Viestisi on jo lähetetty palvelulle Terveysneuvo" in messages[0]["text"]
    assert "arkipäivän kuluessa" in messages[0]["text"]
    assert messages[0]["custom"]["route"]["target"] == "terveysneuvo"
    assert FollowupAction("contact_request_form") not in events  # no new form


def test_contact_request_goes_to_the_form(tracker_for):
    messages, events = run(ActionRoute(), tracker_for("soittakaa minulle", "contact_request"))

    payload = {"route": {"type": "form", "target": "contact_request"}}
    assert messages == [message("utter_route_form_contact_request", payload)]
    # The route slots, then the contact form emptied for a fresh start (no team named yet), and it runs next.
    assert events[:2] == [SlotSet("route_type", "form"), SlotSet("route_target", "contact_request")]
    assert events[2:] == [*reset_form_slots(), FollowupAction("contact_request_form")]


def test_a_vague_matter_classified_as_a_request_for_the_form_is_asked_about_first(tracker_for):
    messages, events = run(ActionRoute(), tracker_for("äidin asia", "contact_request"))

    assert messages[0]["response"] == "utter_ask_how_can_help"
    assert events[-1] == FollowupAction("action_listen")  # not the form the intent's rule would start


def test_the_form_taken_up_right_after_it_was_offered_starts_it(tracker_for):
    offer = {
        "event": "bot",
        "text": "Ammattilaisten chat ei ole juuri nyt auki.",
        "data": {"buttons": [{"title": "Jätä viesti tai soittopyyntö", "payload": "/contact_request"}]},
    }
    earlier = [user_event("haluun puhua ihmisen kaa", "request_human"), offer]
    messages, events = run(ActionRoute(), tracker_for("no sit se lomake", "contact_request", earlier=earlier))

    assert messages[0]["response"] == "utter_route_form_contact_request"
    assert events[-1] == FollowupAction("contact_request_form")


def test_a_matter_routed_after_the_form_was_set_aside_ends_the_turn(tracker_for):
    form_on = {"event": "active_loop", "name": "contact_request_form"}
    earlier = [user_event("jätän viestin", "contact_request"), form_on]
    tracker = tracker_for("pelaan liikaa rahapelejä", "substance_use", earlier=earlier)
    tracker.events.append({"event": "active_loop", "name": None})

    messages, events = run(ActionRoute(), tracker)

    assert any(m.get("custom", {}).get("route", {}).get("target") == "mielenterveys_paihde" for m in messages)
    assert events[-1] == FollowupAction("action_listen")


LEAVE_MESSAGE = {"title": "Jätä viesti tai soittopyyntö", "payload": "/contact_request"}
HEALTH_PHONE = "015 211 8000"
WEDNESDAY_3AM = datetime(2026, 3, 11, 3, 0, tzinfo=HELSINKI)


def test_a_person_is_offered_only_in_topics_whose_team_takes_chats_now(tracker_for, service):
    service.agent("terttu", "terveysneuvo")
    action = ActionRoute(service.factory, service.clock)
    messages, events = run(action, tracker_for("haluan puhua ihmisen kanssa", "request_human"))

    assert events == []
    assert messages == [
        text_message(
            "Autan mielelläni löytämään sopivan ammattilaisen. Missä asiassa tarvitset apua? "
            "Valitse aihe tai kerro omin sanoin.",
            [{"title": "Terveysaseman vastaanotto", "payload": "/health_centre_appointment"}, LEAVE_MESSAGE],
            person("offered", ["terveysneuvo"]),
        )
    ]


def test_when_nobody_is_free_a_request_for_a_person_is_told_so(tracker_for, service):
    action = ActionRoute(service.factory, service.clock)  # Tuesday 12.30: open, nobody present
    messages, _ = run(action, tracker_for("voinko jutella jonkun kanssa", "request_human"))

    assert messages == [
        text_message(
            "Ammattilaisten chat on auki, mutta juuri nyt kukaan ei ehdi vastaamaan chatissa. "
            "Voit jättää kiireettömän yhteydenottopyynnön, niin ammattilainen ottaa sinuun yhteyttä, "
            f"tai soittaa numeroon {HEALTH_PHONE}. Hätätilanteessa soita 112.",
            [LEAVE_MESSAGE],
            person("nobody_free"),
        )
    ]


def test_at_night_a_request_for_a_person_gets_the_next_opening_and_116_117(tracker_for, service):
    service.agent("terttu", "terveysneuvo")
    service.clock.now = WEDNESDAY_3AM
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker_for("ihminen", "request_human"))

    said = messages[0]["text"]
    assert said.startswith(
        "Ammattilaisten chat ei ole juuri nyt auki. "
        "Seuraavaksi avautuu Terveysneuvon chat tänään klo 8 alkaen."
    )
    assert HEALTH_PHONE in said and "Päivystysapuun, puhelin 116 117" in said and said.endswith("soita 112.")
    assert messages[0]["buttons"] == [LEAVE_MESSAGE]


def test_at_night_a_call_asked_for_today_gets_the_next_opening_not_the_form(tracker_for, service):
    service.agent("terttu", "terveysneuvo")
    service.clock.now = WEDNESDAY_3AM
    tracker = tracker_for("voiko joku soittaa mulle viel tänään", "contact_request")
    messages, events = run(ActionRoute(service.factory, service.clock), tracker)

    assert messages[0]["text"].startswith("Ammattilaisten chat ei ole juuri nyt auki.")
    assert messages[0]["buttons"] == [LEAVE_MESSAGE]
    assert FollowupAction("contact_request_form") not in events


def test_a_call_asked_for_tomorrow_at_night_starts_the_form(tracker_for, service):
    service.clock.now = WEDNESDAY_3AM
    tracker = tracker_for("voiko joku soittaa mulle huomenna", "contact_request")
    _, events = run(ActionRoute(service.factory, service.clock), tracker)

    assert events[-1] == FollowupAction("contact_request_form")


def test_without_the_service_no_person_is_promised(tracker_for):
    messages, _ = run(ActionRoute(down), tracker_for("haluan ihmisen", "request_human"))

    assert messages[0]["text"].startswith("En juuri nyt saa tarkistettua, onko ammattilaisten chat auki.")
    assert HEALTH_PHONE in messages[0]["text"] and messages[0]["buttons"] == [LEAVE_MESSAGE]


def test_request_for_a_person_after_a_team_decision_goes_to_that_team(tracker_for):
    tracker = tracker_for(
        "haluan chattiin", "request_human", slots={"route_type": "team", "route_target": "neuvola"}
    )
    messages, events = run(ActionRoute(down), tracker)

    assert messages[0]["custom"] == {"route": {"type": "team", "target": "neuvola", "label": "Neuvola"}}
    assert events == [
        SlotSet("route_type", "team"),
        SlotSet("route_target", "neuvola"),
        SlotSet("team_availability", "unavailable"),
    ]


def test_unrouted_intent_asks_how_to_help(tracker_for):
    messages, events = run(ActionRoute(), tracker_for("moi", "greet"))

    assert messages == [message("utter_ask_how_can_help")]
    assert events == []


def test_emergency_uses_the_detected_level(tracker_for):
    entities = [{"entity": "emergency_level", "value": "crisis"}]
    messages, events = run(ActionEmergency(), tracker_for("en halua enää elää", "emergency", entities))

    assert messages == [
        message("utter_emergency_crisis", {"route": {"type": "emergency", "target": "crisis"}})
    ]
    assert events == [SlotSet("route_type", "emergency"), SlotSet("route_target", "crisis")]


def test_emergency_without_a_level_means_112(tracker_for):
    messages, _ = run(ActionEmergency(), tracker_for("hätä", "emergency"))

    assert messages == [message("utter_emergency_112", {"route": {"type": "emergency", "target": "112"}})]


RANKING = [
    {"name": "nlu_fallback", "confidence": 0.45},
    {"name": "lab_results", "confidence": 0.45},
    {"name": "greet", "confidence": 0.2},
    {"name": "sick_note", "confidence": 0.15},
    {"name": "prescription_renewal", "confidence": 0.1},
    {"name": "dental_care", "confidence": 0.05},
]


def test_first_miss_asks_with_the_likely_topics(tracker_for):
    messages, events = run(
        ActionHandleFallback(), tracker_for("todistus tulokset", "nlu_fallback", ranking=RANKING)
    )

    assert events == []
    assert messages == [
        message(
            "utter_clarify",
            buttons=[
                {"title": "Laboratoriotulokset", "payload": "/lab_results"},
                {"title": "Sairauslomatodistus", "payload": "/sick_note"},
                {"title": "Reseptin uusiminen", "payload": "/prescription_renewal"},
                {"title": "Jotain muuta", "payload": "/nlu_fallback"},
            ],
            custom={"understanding": "clarify"},
        )
    ]


def test_second_miss_in_a_row_offers_a_person_who_is_there_or_the_form(tracker_for, service):
    service.agent("terttu", "terveysneuvo")
    earlier = [user_event("hmm juttu", "nlu_fallback"), {"event": "bot", "text": "En ole varma"}]
    action = ActionHandleFallback(service.factory, service.clock)
    messages, _ = run(action, tracker_for("/nlu_fallback", "nlu_fallback", earlier=earlier))

    assert messages == [
        text_message(
            "Valitettavasti en vieläkään ymmärtänyt, missä asiassa tarvitset apua. Voit keskustella "
            "ammattilaisen kanssa tai jättää meille kiireettömän viestin tai soittopyynnön.",
            [
                {"title": "Keskustele: Terveysneuvo", "payload": '/request_human{"team":"terveysneuvo"}'},
                LEAVE_MESSAGE,
            ],
            {**person("offered", ["terveysneuvo"]), "understanding": "fallback"},
        )
    ]


def test_second_miss_at_night_offers_nobody_who_is_not_there(tracker_for, service):
    service.clock.now = WEDNESDAY_3AM
    earlier = [user_event("hmm juttu", "nlu_fallback"), {"event": "bot", "text": "En ole varma"}]
    action = ActionHandleFallback(service.factory, service.clock)
    messages, _ = run(action, tracker_for("/nlu_fallback", "nlu_fallback", earlier=earlier))

    said = messages[0]["text"]
    assert said.startswith("Valitettavasti en vieläkään ymmärtänyt, missä asiassa tarvitset apua. ")
    assert "Seuraavaksi avautuu Terveysneuvon chat tänään klo 8 alkaen." in said and "116 117" in said
    assert "Keskustele" not in str(messages[0]["buttons"]) and messages[0]["buttons"] == [LEAVE_MESSAGE]
    assert messages[0]["custom"] == {**person("none_open"), "understanding": "fallback"}


def test_a_miss_after_an_understood_message_asks_again(tracker_for):
    earlier = [user_event("hmm", "nlu_fallback"), user_event("resepti", "prescription_renewal")]
    messages, _ = run(ActionHandleFallback(), tracker_for("öö juttu", "nlu_fallback", earlier=earlier))

    assert messages[0]["response"] == "utter_clarify"


def test_doubt_between_intents_of_one_team_is_no_miss(tracker_for):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "sick_note", "confidence": 0.4},
        {"name": "health_centre_appointment", "confidence": 0.35},
    ]
    messages, events = run(
        ActionHandleFallback(down), tracker_for("sairauslomaa ja lääkäri", "nlu_fallback", ranking=ranking)
    )

    assert messages[0]["response"] == "utter_route_team"
    assert messages[0]["custom"] == {
        "route": {"type": "team", "target": "terveysneuvo", "label": "Terveysneuvo"}
    }
    assert events == [
        SlotSet("route_type", "team"),
        SlotSet("route_target", "terveysneuvo"),
        SlotSet("team_availability", "unavailable"),
    ]


def test_a_classifier_only_emergency_guess_starts_the_answer_with_a_reminder_of_112(tracker_for):
    ranking = [{"name": "emergency", "confidence": 0.9}, {"name": "physiotherapy", "confidence": 0.6}]
    tracker = tracker_for("polvi on ihan jumissa", "physiotherapy", ranking=ranking)
    messages, _ = run(ActionRoute(down), tracker)
    assert messages[0]["response"] == "utter_emergency_reminder"
    assert messages[1]["custom"]["route"]["target"] == "fysioterapia"


def test_no_reminder_without_an_emergency_guess(tracker_for):
    messages, _ = run(ActionRoute(down), tracker_for("polvi on ihan jumissa", "physiotherapy"))
    assert all(message.get("response") != "utter_emergency_reminder" for message in messages)


def _suspicion(level: str) -> list[dict[str, Any]]:
    return [
        {"entity": "emergency_level", "value": "confirm"},
        {"entity": "emergency_suspected", "value": level},
    ]


def test_a_suspicion_asks_one_safety_question(tracker_for):
    messages, events = run(ActionEmergency(), tracker_for("rintaa puristaa", "emergency", _suspicion("112")))

    (asked,) = messages
    assert asked["response"] == "utter_emergency_confirm"
    assert asked["custom"] == {"route": {"type": "emergency", "target": "confirm", "suspected": "112"}}
    assert [b["payload"] for b in asked["buttons"]] == ["/affirm", "/deny"]  # the page adds the call link
    assert events == [SlotSet("route_type", "emergency"), SlotSet("route_target", "confirm")]


QUESTION = {
    "event": "bot",
    "text": "Onko joku nyt hengenvaarassa tai vakavasti sairas?",
    "data": {"custom": {"route": {"type": "emergency", "target": "confirm"}}},
}


def _routed(route: dict[str, Any]) -> dict[str, Any]:
    return {"event": "bot", "text": "…", "data": {"custom": {"route": route}}}


def _answered(level: str) -> dict[str, Any]:
    return {
        "event": "bot",
        "text": "…",
        "data": {"custom": {"route": {"type": "emergency", "target": level}}},
    }


def test_a_suspicion_right_after_an_emergency_answer_is_answered_not_asked(tracker_for):
    earlier = [user_event("ei oo paikkaa mihin mennä yöks", "emergency"), _answered("social")]
    tracker = tracker_for(
        "mihin me voidaan mennä, lapset on 2 ja 6", "emergency", _suspicion("social"), earlier=earlier
    )
    messages, _ = run(ActionEmergency(), tracker)
    assert [m["custom"]["route"] for m in messages] == [{"type": "emergency", "target": "social"}]
    assert messages[0]["response"] == "utter_emergency_social"


def test_a_worded_suspicion_of_another_level_after_an_emergency_answer_gets_that_guidance(tracker_for):
    earlier = [user_event("lapsella kova kuume yöllä", "emergency"), _answered("116117")]
    worded = [*_suspicion("112"), {"entity": "emergency_layer", "value": "lexicon"}]
    tracker = tracker_for("entä jos se alkaa olla veltto eikä herää", "emergency", worded, earlier=earlier)
    messages, _ = run(ActionEmergency(), tracker)
    assert messages[0]["custom"]["route"] == {"type": "emergency", "target": "112"}


def test_a_learned_guess_of_another_level_after_an_emergency_answer_keeps_that_answer(tracker_for):
    earlier = [user_event("ei oo paikkaa mihin mennä yöks", "emergency"), _answered("social")]
    guess = [*_suspicion("112"), {"entity": "emergency_layer", "value": "learned"}]
    tracker = tracker_for("on tosi kylmä ja akkua vähän", "emergency", guess, earlier=earlier)
    messages, _ = run(ActionEmergency(), tracker)
    assert messages[0]["custom"]["route"]["target"] == "social"


def test_a_follow_up_of_the_crisis_answer_stays_with_it(tracker_for, service):
    earlier = [user_event("olis helpompi jos mua ei ois", "emergency"), _answered("crisis")]
    tracker = tracker_for(
        "en mä oo tekemässä mitään nyt, mut ajatuksia tulee iltasin", "mental_health", earlier=earlier
    )
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["target"] == "crisis"


def test_danger_denied_after_the_crisis_answer_gets_the_line_in_a_line_and_the_team(tracker_for, service):
    earlier = [
        user_event("välillä tulee ajatus et kaikilla ois parempi ilman mua", "emergency"),
        _answered("crisis"),
    ]
    denied = [{"entity": "emergency_denied", "value": "crisis"}]
    text = "en mä oo tekemässä itelleni mitään, mut haluisin puhua jollekin näistä ajatuksista"
    tracker = tracker_for(text, "mental_health", denied, earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_reminder_crisis"
    route = messages[1]["custom"]["route"]
    assert (route["type"], route["target"]) == ("team", "mielenterveys_paihde")


def test_turning_down_urgent_care_for_a_team_gets_the_number_in_a_line_and_the_team(tracker_for, service):
    earlier = [
        user_event("kädet tärisee ja hikoiluttaa, yritän lopettaa juomisen", "emergency"),
        _answered("116117"),
    ]
    text = "en mä halua mihinkään päivystykseen. haluun vaan jonkun juttelemaan, onks päihdepuolella chattia"
    tracker = tracker_for(text, "request_human", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_reminder"
    route = messages[1]["custom"]["route"]
    assert (route["type"], route["target"]) == ("team", "mielenterveys_paihde")


def test_turning_down_112_gets_its_guidance_again(tracker_for, service):
    earlier = [user_event("kaveri otti pillereitä ja viinaa", "emergency"), _answered("112")]
    tracker = tracker_for(
        "en halua soittaa, haluun jutella päihdepuolen kanssa", "substance_use", earlier=earlier
    )
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"] == {"type": "emergency", "target": "112"}


def test_thanks_after_the_crisis_answer_is_acknowledged_not_answered_again(tracker_for, service):
    earlier = [user_event("poika kirjoitti ettei haluis enää elää", "emergency"), _answered("crisis")]
    text = "kiitos, mä meen nyt sen luo ja soitetaan yhdessä siihen kriisipuhelimeen"
    tracker = tracker_for(text, "mental_health", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert [m.get("response") for m in messages] == ["utter_emergency_thanks_crisis"]


@pytest.mark.parametrize(
    ("text", "intent", "kind"),
    [
        ("voiko joku soittaa mulle, en tiiä mitä tehdä", "contact_request", "emergency"),
        ("voisko joku sosiaalityöntekijä soittaa mulle aamulla", "contact_request", "form"),
        ("ok soitan sinne. mut haluun jättää vammaispalveluille viestin tästä", "contact_request", "form"),
    ],
)
def test_a_callback_right_after_the_social_answer_is_for_now_unless_it_names_a_time_team_or_message(
    tracker_for, service, text, intent, kind
):
    earlier = [user_event("lähdin lasten kanssa kotoa, ei paikkaa yöksi", "emergency"), _answered("social")]
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker_for(text, intent, earlier=earlier))
    assert messages[0]["custom"]["route"]["type"] == kind


def test_playing_down_after_the_112_answer_is_no_denial(tracker_for, service):
    earlier = [user_event("isä ei herää", "emergency"), _answered("112")]
    denied = [{"entity": "emergency_denied", "value": "112"}]
    tracker = tracker_for("ei se oo tajuton, se hengittää", "report_symptom", denied, earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["target"] == "112"


def test_no_money_after_the_social_emergency_answer_stays_with_it(tracker_for, service):
    earlier = [user_event("mies heitti mut ulos, missä mä voin olla yöllä", "emergency"), _answered("social")]
    tracker = tracker_for("mul on vaan puhelin ja takki, ei rahaa yhtään", "income_support", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["target"] == "social"


def test_not_daring_to_call_after_the_112_answer_gets_it_again(tracker_for, service):
    earlier = [user_event("kaveri otti pillereitä ja viinaa", "emergency"), _answered("112")]
    text = "en uskalla soittaa ku se suuttuu mulle jos tulee poliisit"
    tracker = tracker_for(text, "contact_request", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"] == {"type": "emergency", "target": "112"}


CHILD_COUGH = {"type": "team", "target": "terveysneuvo", "label": "Terveysneuvo", "reason": "child_symptom"}


def test_a_symptom_detail_after_a_childs_symptom_stays_with_the_child(tracker_for, service):
    earlier = [user_event("8-vuotiaalla ollu yskää viikon", "report_symptom"), _routed(CHILD_COUGH)]
    detail = "ei oo hengenahdistusta, syö ja leikkii ihan normaalisti"
    tracker = tracker_for(detail, "report_symptom", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["target"] == "terveysneuvo"
    tracker = tracker_for("ja mulla itellä on sama yskä, oon 41", "report_symptom", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["type"] == "omaolo"


MIELENTERVEYS = {"type": "team", "target": "mielenterveys_paihde", "label": "Mielenterveyspalvelut"}
TERVEYSNEUVO = {"type": "team", "target": "terveysneuvo", "label": "Terveysneuvo"}


@pytest.mark.parametrize(
    ("team", "said"),
    [(MIELENTERVEYS, "voit asioida nimettömästi"), (TERVEYSNEUVO, "vahvan tunnistautumisen")],
)
def test_asking_to_stay_anonymous_is_answered_by_the_teams_policy_and_the_team_offered(
    tracker_for, service, team, said
):
    earlier = [user_event("juon liikaa viikonloppuisin", "substance_use"), _routed(team)]
    text = "voiko sinne ottaa yhteyttä niin ettei tarvi kertoa nimeä"
    tracker = tracker_for(text, "contact_request", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert said in messages[0]["text"]
    assert messages[1]["custom"]["route"]["target"] == team["target"]


@pytest.mark.parametrize(
    "text", ["voiko täällä kysyä jotain nimettömänä", "voiks tänne kirjottaa nimettömänä"]
)
def test_asking_to_stay_anonymous_before_any_matter_is_answered_and_the_matter_asked(
    tracker_for, service, text
):
    tracker = tracker_for(text, "mental_health")
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert "ei tarvitse kertoa nimeäsi" in messages[0]["text"]
    assert messages[1]["response"] == "utter_ask_how_can_help"


def test_a_call_back_request_without_a_name_gets_the_policy_and_the_form(tracker_for, service):
    earlier = [user_event("juon joka ilta et saan unta", "substance_use"), _routed(MIELENTERVEYS)]
    tracker = tracker_for(
        "voinko jättää yhteydenottopyynnön mut ilman nimeä", "contact_request", earlier=earlier
    )
    messages, events = run(ActionRoute(service.factory, service.clock), tracker)
    assert "voit asioida nimettömästi" in messages[0]["text"]
    assert messages[1]["custom"]["route"] == {"type": "form", "target": "contact_request"}
    assert FollowupAction("contact_request_form") in events


def test_asking_to_stay_anonymous_after_an_answer_is_about_the_answers_matter(tracker_for, service):
    earlier = [
        user_event("miten teen valituksen neuvolan terkasta", "faq"),
        _routed({"type": "answer", "target": "complaint"}),
        _routed({"type": "team", "target": "neuvola", "label": "Neuvola"}),
    ]
    tracker = tracker_for("voiko sen tehdä nimettömänä", "child_health_clinic", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    said = " ".join(m.get("text") or "" for m in messages)
    assert "tunnistautumisen" not in said and "nimettömästi" not in said


def test_a_clear_new_need_after_an_emergency_answer_is_routed(tracker_for, service):
    earlier = [user_event("ei oo paikkaa mihin mennä yöks", "emergency"), _answered("social")]
    tracker = tracker_for("ja maanantaina pitäis hakea toimeentulotukea", "income_support", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"] == {"type": "answer", "target": "income_support_kela"}


def test_yes_to_the_safety_question_gives_the_suspected_guidance(tracker_for, service):
    asked = user_event("en jaksa enää mitään", "emergency", _suspicion("crisis"))
    action = ActionSafetyAnswer(service.factory, service.clock)
    messages, _ = run(action, tracker_for("kyllä", "affirm", earlier=[asked, QUESTION]))

    assert messages == [
        message("utter_emergency_crisis", {"route": {"type": "emergency", "target": "crisis"}})
    ]


def test_no_to_the_safety_question_goes_on_with_the_message_itself(tracker_for, service):
    ranking = [
        {"name": "emergency", "confidence": 1.0},
        {"name": "dental_care", "confidence": 0.8},
        {"name": "report_symptom", "confidence": 0.1},
    ]
    asked = user_event("hammas vuotaa verta", "emergency", _suspicion("112"), ranking)
    action = ActionSafetyAnswer(service.factory, service.clock)
    messages, events = run(action, tracker_for("ei", "deny", earlier=[asked, QUESTION]))

    assert messages[0]["response"] == "utter_route_team"
    assert messages[0]["custom"]["route"]["target"] == "suun_terveydenhuolto"
    assert SlotSet("route_target", "suun_terveydenhuolto") in events


def test_yes_after_a_certain_emergency_answer_asks_what_the_resident_needs(tracker_for, service):
    certain = user_event("rintakipu", "emergency", [{"entity": "emergency_level", "value": "112"}])
    action = ActionSafetyAnswer(service.factory, service.clock)
    messages, events = run(action, tracker_for("kyllä", "affirm", earlier=[certain, _answered("112")]))

    assert messages == []
    assert events == [FollowupAction("action_yes_or_no")]  # the yes is about that answer, not a question


def test_yes_after_a_moderate_guess_answered_as_a_follow_up_is_about_that_reply(tracker_for, service):
    guessed = user_event("se kaatuili kaks kertaa", "emergency", _guess("112", "moderate"))
    team = {
        "event": "bot",
        "text": "…",
        "data": {"custom": {"route": {"type": "team", "target": "palveluneuvo"}}},
    }
    action = ActionSafetyAnswer(service.factory, service.clock)
    messages, events = run(action, tracker_for("joo", "affirm", earlier=[guessed, team]))

    assert messages == []
    assert events == [FollowupAction("action_yes_or_no")]


def test_emergencies_in_english_and_swedish_are_answered_in_that_language(tracker_for):
    english = [{"entity": "emergency_level", "value": "112"}, {"entity": "language", "value": "en"}]
    messages, _ = run(ActionEmergency(), tracker_for("chest pain", "emergency", english))
    assert messages[0]["response"] == "utter_emergency_112_en"
    swedish = [{"entity": "emergency_level", "value": "crisis"}, {"entity": "language", "value": "sv"}]
    messages, _ = run(ActionEmergency(), tracker_for("vill dö", "emergency", swedish))
    assert messages[0]["response"] == "utter_emergency_crisis_sv"


def test_a_social_emergency_names_the_social_emergency_service(tracker_for):
    social = [{"entity": "emergency_level", "value": "social"}]
    messages, _ = run(ActionEmergency(), tracker_for("ei yöpaikkaa tänään", "emergency", social))
    assert messages[0]["response"] == "utter_emergency_social"
    assert "112" in messages[0]["social_phone"]


VIOLENCE = {"entity": "emergency_help", "value": "violence"}
SAFE_PLACE_AND_HELPLINE = ["utter_emergency_social_violence", "utter_emergency_violence_help"]


def test_violence_at_home_gets_a_safe_place_and_the_violence_helpline(tracker_for):
    social = [{"entity": "emergency_level", "value": "social"}, VIOLENCE]
    messages, _ = run(ActionEmergency(), tracker_for("en uskalla mennä kotiin", "emergency", social))
    assert [m["response"] for m in messages] == [
        "utter_emergency_social_violence",
        "utter_emergency_violence_help",
    ]
    assert messages[0]["custom"]["route"] == {"type": "emergency", "target": "social", "help": "violence"}


def test_violence_now_gets_112_then_the_violence_helpline(tracker_for):
    now = [{"entity": "emergency_level", "value": "112"}, VIOLENCE]
    messages, _ = run(ActionEmergency(), tracker_for("mies hakkaa mua nyt", "emergency", now))
    assert [m["response"] for m in messages] == ["utter_emergency_112", "utter_emergency_violence_help"]


def test_yes_to_the_safety_question_about_violence_keeps_the_violence_helpline(tracker_for, service):
    asked = user_event("pelottaa mennä kotiin", "emergency", [*_suspicion("social"), VIOLENCE])
    action = ActionSafetyAnswer(service.factory, service.clock)
    messages, _ = run(action, tracker_for("kyllä", "affirm", earlier=[asked, QUESTION]))
    assert [m["response"] for m in messages] == [
        "utter_emergency_social_violence",
        "utter_emergency_violence_help",
    ]


def test_violence_in_english_is_answered_in_english_alone(tracker_for):
    english = [{"entity": "emergency_level", "value": "112"}, {"entity": "language", "value": "en"}, VIOLENCE]
    messages, _ = run(ActionEmergency(), tracker_for("he is hitting me", "emergency", english))
    assert [m["response"] for m in messages] == ["utter_emergency_112_en"]


def test_yes_to_the_safety_question_in_english_gives_the_english_guidance(tracker_for, service):
    asked = user_event(
        "my chest feels tight", "emergency", [*_suspicion("112"), {"entity": "language", "value": "en"}]
    )
    action = ActionSafetyAnswer(service.factory, service.clock)
    messages, _ = run(action, tracker_for("yes", "affirm", earlier=[asked, QUESTION]))
    assert [m["response"] for m in messages] == ["utter_emergency_112_en"]


def _guess(level: str, strength: str) -> list[dict[str, Any]]:
    return [
        *_suspicion(level),
        {"entity": "emergency_layer", "value": "learned"},
        {"entity": "emergency_strength", "value": strength},
    ]


def _after_team(team: str, label: str, first: str, intent: str) -> list[dict[str, Any]]:
    route = {"type": "team", "target": team, "label": label}
    return [user_event(first, intent), {"event": "bot", "text": "…", "data": {"custom": {"route": route}}}]


def _ranked(*ranking: tuple[str, float]) -> list[dict[str, Any]]:
    """The ranking the safety net leaves: emergency first, then the classifier's own intents."""
    return [{"name": "emergency", "confidence": 1.0}, *({"name": n, "confidence": c} for n, c in ranking)]


def test_a_moderate_guess_on_a_detail_of_the_need_reminds_and_stays_with_it(tracker_for, service):
    earlier = _after_team("palveluneuvo", "Palveluneuvo", "äiti ei pärjää enää kotona", "elderly_services")
    tracker = tracker_for(
        "se kaatuili viime viikolla kaks kertaa, kylpyhuone on ahdas",
        "emergency",
        _guess("112", "moderate"),
        ranking=_ranked(("elderly_services", 0.8), ("physiotherapy", 0.1)),
        earlier=earlier,
    )
    messages, _ = run(ActionEmergency(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_reminder"
    assert messages[1]["custom"]["route"]["target"] == "palveluneuvo"
    assert "utter_emergency_confirm" not in [m["response"] for m in messages]


def test_a_moderate_crisis_guess_reminds_of_the_crisis_line(tracker_for, service):
    earlier = _after_team("mielenterveys_paihde", "Mielenterveyspalvelut", "ahdistaa", "mental_health")
    tracker = tracker_for(
        "tää on jatkunu kuukauden eikä koulu kulje",
        "emergency",
        _guess("crisis", "moderate"),
        ranking=_ranked(("mental_health", 0.7)),
        earlier=earlier,
    )
    messages, _ = run(ActionEmergency(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_reminder_crisis"
    assert messages[1]["custom"]["route"]["target"] == "mielenterveys_paihde"


def test_a_moderate_guess_the_classifier_cannot_place_stays_with_the_need(tracker_for, service):
    earlier = _after_team("katilot", "Kätilöt", "oon raskaana", "pregnancy")
    tracker = tracker_for(
        "ja sit se toinen juttu", "emergency", _guess("112", "moderate"), ranking=_ranked(), earlier=earlier
    )
    messages, _ = run(ActionEmergency(service.factory, service.clock), tracker)
    assert [m["custom"]["route"]["target"] for m in messages if m.get("custom")] == ["katilot"]


def test_a_firm_guess_in_a_conversation_still_asks_the_safety_question(tracker_for, service):
    earlier = _after_team("katilot", "Kätilöt", "imetys ei suju", "pregnancy")
    tracker = tracker_for(
        "rinta on punainen ja kova ja 39 kuumetta",
        "emergency",
        _guess("112", "firm"),
        ranking=_ranked(("pregnancy", 0.6)),
        earlier=earlier,
    )
    messages, _ = run(ActionEmergency(service.factory, service.clock), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_confirm"]


def test_a_moderate_guess_as_the_first_message_asks_the_safety_question(tracker_for, service):
    tracker = tracker_for(
        "en saa unta ja ahdistaa",
        "emergency",
        _guess("112", "moderate"),
        ranking=_ranked(("mental_health", 0.9)),
    )
    messages, _ = run(ActionEmergency(service.factory, service.clock), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_confirm"]


def test_another_matter_after_an_emergency_answer_is_not_held_back(tracker_for, service):
    earlier = [user_event("kuumetta 39 ja kylkeen sattuu", "emergency"), _answered("116117")]
    ranking = [{"name": "ask_client_fees", "confidence": 0.45}]
    tracker = tracker_for(
        "no okei soitan. onks muuten joku yläraja näille maksuille",
        "ask_client_fees",
        ranking=ranking,
        earlier=earlier,
    )
    tracker.latest_message["intent"]["confidence"] = 0.45
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"] == {"type": "answer", "target": "fees_ceiling"}


def test_what_if_after_an_emergency_answer_stays_with_it(tracker_for, service):
    earlier = [user_event("kuumetta 39 ja kylkeen sattuu", "emergency"), _answered("116117")]
    tracker = tracker_for("entä jos kipu ei hellitä", "report_symptom", earlier=earlier)
    tracker.latest_message["intent"]["confidence"] = 0.5
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["target"] == "116117"


@pytest.mark.parametrize(
    ("first", "level", "asked"),
    [
        ("lapsella 39 kuumetta ja korvaan sattuu", "116117", "onks siellä ketään hoitajaa jolle vois puhua"),
        ("mies löi ja en voi mennä kotiin tänä yönä", "social", "voinko puhua jonkun ihmisen kanssa nyt"),
    ],
)
def test_asking_for_a_person_after_urgent_care_or_the_social_emergency_also_says_who_can_chat(
    tracker_for, service, first, level, asked
):
    earlier = [user_event(first, "emergency"), _answered(level)]
    tracker = tracker_for(asked, "request_human", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    routes = [m["custom"]["route"] for m in messages if "route" in (m.get("custom") or {})]
    assert routes[0]["target"] == level
    assert routes[-1]["type"] == "person"


def test_a_moderate_guess_about_a_young_childs_symptom_is_still_asked_about(tracker_for, service):
    child = {
        "type": "team",
        "target": "terveysneuvo",
        "label": "Terveysneuvo",
        "reason": "child_symptom",
        "age": 2,
    }
    earlier = [
        user_event("2-vuotiaalla ihottumaa", "report_symptom"),
        {"event": "bot", "text": "…", "data": {"custom": {"route": child}}},
    ]
    tracker = tracker_for(
        "nyt mitattiin kuumetta 38,9 ja se on tosi väsyny",
        "emergency",
        _guess("116117", "moderate"),
        ranking=_ranked(("report_symptom", 0.9)),
        earlier=earlier,
    )
    messages, _ = run(ActionEmergency(service.factory, service.clock), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_confirm"]


def test_a_suspicion_in_english_asks_the_safety_question_in_english(tracker_for):
    english = [*_suspicion("112"), {"entity": "language", "value": "en"}]
    messages, _ = run(ActionEmergency(), tracker_for("my chest feels tight", "emergency", english))
    asked, notice = messages
    assert asked["response"] == "utter_emergency_confirm_en"
    assert [b["title"] for b in asked["buttons"]] == ["Yes", "No, it is not urgent"]
    # Whatever the answer, the writer learns that the chat serves in Finnish, and about the phone line.
    assert notice["response"] == "utter_other_language"
    assert notice["en"]


def test_the_language_notice_after_an_english_safety_question_is_given_once(tracker_for):
    english = [*_suspicion("112"), {"entity": "language", "value": "en"}]
    told = {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_other_language"}}
    earlier = [user_event("hello", "other_language"), told]
    tracker = tracker_for("my chest feels tight", "emergency", english, earlier=earlier)
    messages, _ = run(ActionEmergency(), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_confirm_en"]


def _suspected(level: str, language: str | None = None) -> dict[str, Any]:
    route = {"type": "emergency", "target": "confirm", "suspected": level}
    if language:
        route["language"] = language
    return {"event": "bot", "text": "…", "data": {"custom": {"route": route}}}


@pytest.mark.parametrize(
    ("earlier_route", "text", "intent", "expected"),
    [
        (_answered("116117"), "voisko vaa ottaa buranan ja kattoo aamulla?", "report_symptom", "116117"),
        (_answered("112"), "pitäiskö vaan oottaa maanantaihin", "health_centre_appointment", "112"),
        (_suspected("116117"), "annoin jo panadolia, voiko oottaa aamuun?", "report_symptom", "116117"),
    ],
)  # fmt: skip
def test_asking_whether_one_could_wait_after_emergency_guidance_gets_that_guidance(
    tracker_for, service, earlier_route, text, intent, expected
):
    earlier = [user_event("lapsella 39,6 kuumetta ja oksentaa", "emergency"), earlier_route]
    tracker = tracker_for(text, intent, earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert [m["custom"]["route"] for m in messages] == [{"type": "emergency", "target": expected}]


def test_asking_whether_to_drive_oneself_after_an_english_question_gets_the_english_guidance(
    tracker_for, service
):
    earlier = [user_event("her arm is weak", "emergency"), _suspected("112", "en")]
    tracker = tracker_for("should we drive her to the hospital ourselves?", "other_language", earlier=earlier)
    messages, _ = run(ActionOtherLanguage(service.factory, service.clock), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_112_en"]


def test_waiting_without_emergency_guidance_before_is_routed_as_usual(tracker_for, service):
    tracker = tracker_for("voiko oottaa aamuun hammaslääkärin kanssa", "dental_care")
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["target"] == "suun_terveydenhuolto"


def test_thanks_not_understood_after_an_english_emergency_answer_are_acknowledged_in_english(
    tracker_for, service
):
    english = {
        "event": "bot",
        "text": "…",
        "data": {"custom": {"route": {"type": "emergency", "target": "112", "language": "en"}}},
    }
    earlier = [user_event("my father is not breathing", "emergency"), english]
    tracker = tracker_for("ok calling now, thanks", "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_thanks_en"]


def _crisis_answer() -> dict:
    route = {"type": "emergency", "target": "crisis"}
    return {"event": "bot", "text": "…", "data": {"custom": {"route": route}}}


def test_thanks_not_understood_after_a_finnish_emergency_answer_give_its_numbers_briefly(
    tracker_for, service
):
    earlier = [user_event("olis helpompaa jos en heräis", "emergency"), _crisis_answer()]
    text = "en mä oo tekemässä mitään tänään. mut kiitos et laitoit noi numerot"
    tracker = tracker_for(text, "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_thanks_crisis"]


def test_thanks_with_a_question_after_a_finnish_emergency_answer_get_the_guidance_again(tracker_for, service):
    earlier = [user_event("olis helpompaa jos en heräis", "emergency"), _crisis_answer()]
    tracker = tracker_for("kiitos, mut mitä mä sit sanon siellä?", "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"] == {"type": "emergency", "target": "crisis"}


def _asked_about_a_toothache() -> list[dict[str, Any]]:
    entities = [{"entity": "emergency_level", "value": "confirm"}]
    ranking = [{"name": "emergency", "confidence": 1.0}, {"name": "dental_care", "confidence": 0.93}]
    text = "hammas on särkeny kolme päivää ja poski vähän turvonnu"
    asked = user_event(text, "emergency", entities, ranking)
    return [asked, _suspected("116117")]


def test_a_detail_right_after_the_safety_question_goes_on_with_the_asked_messages_meaning(
    tracker_for, service
):
    text = "särkylääke auttaa vähän mut yöllä ei saa nukuttua yhtään"
    tracker = tracker_for(text, "report_symptom", earlier=_asked_about_a_toothache())
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["target"] == "suun_terveydenhuolto"


@pytest.mark.parametrize("text", ["en tiedä", "en oo ihan varma onko se vakavaa"])
def test_unsure_after_the_safety_question_is_not_taken_for_a_no(tracker_for, service, text):
    tracker = tracker_for(text, "nlu_fallback", earlier=_asked_about_a_toothache())
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert all(
        (m.get("custom") or {}).get("route", {}).get("target") != "suun_terveydenhuolto" for m in messages
    )


def test_a_general_symptom_after_a_team_is_a_detail_of_that_matter(tracker_for, service):
    earlier = _after_team(
        "suun_terveydenhuolto",
        "Suun terveydenhuolto",
        "hammas on ollu kipee viikon, saisko ajan",
        "dental_care",
    )
    tracker = tracker_for("alaleuassa takana, särkee varsinki öisin", "report_symptom", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    route = next(m["custom"]["route"] for m in messages if "route" in (m.get("custom") or {}))
    assert (route["type"], route["target"]) == ("team", "suun_terveydenhuolto")


def test_urgent_care_asked_about_right_after_112_keeps_112(tracker_for):
    earlier = [user_event("rintaan sattuu ja hengenahdistusta", "emergency"), _answered("112")]
    urgent = [{"entity": "emergency_level", "value": "116117"}]
    tracker = tracker_for(
        "eiks se voi vaan viedä mut autolla päivystykseen", "emergency", urgent, earlier=earlier
    )
    messages, _ = run(ActionEmergency(), tracker)
    assert [m["custom"]["route"] for m in messages] == [{"type": "emergency", "target": "112"}]
    assert messages[0]["response"] == "utter_emergency_112"


def test_urgent_care_after_another_emergency_answer_is_given(tracker_for):
    earlier = [user_event("ei oo paikkaa mihin mennä yöks", "emergency"), _answered("social")]
    urgent = [{"entity": "emergency_level", "value": "116117"}]
    tracker = tracker_for("lapsella nousi kuume 40 asteeseen", "emergency", urgent, earlier=earlier)
    messages, _ = run(ActionEmergency(), tracker)
    assert messages[0]["custom"]["route"] == {"type": "emergency", "target": "116117"}


def _form_asking_the_message(*events: dict[str, Any]) -> Tracker:
    latest = next(e["parse_data"] for e in reversed(events) if e["event"] == "user")
    return Tracker(
        "test",
        {"requested_slot": "contact_message"},
        latest,
        list(events),
        False,
        None,
        {"name": "contact_request_form"},
        "action_listen",
    )


def test_the_form_message_telling_an_answered_emergency_again_goes_on_with_the_form():
    earlier = [user_event("oon viillelly taas", "emergency"), _answered("crisis")]
    text = "et oon viillelly ja tarvisin jonkun kenen kaa jutella säännöllisesti"
    tracker = _form_asking_the_message(
        *earlier, user_event(text, "emergency", [{"entity": "emergency_level", "value": "crisis"}])
    )
    messages, events = run(ActionEmergency(), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_reminder_crisis"]
    assert events == [SlotSet("contact_message", text), FollowupAction("contact_request_form")]


def test_a_more_urgent_level_in_the_form_message_interrupts_the_form():
    earlier = [user_event("hammas kipeä ja poski turvonnut", "emergency"), _answered("116117")]
    text = "nyt turvotus menee silmään asti eikä se saa henkeä"
    tracker = _form_asking_the_message(
        *earlier, user_event(text, "emergency", [{"entity": "emergency_level", "value": "112"}])
    )
    messages, events = run(ActionEmergency(), tracker)
    assert messages[0]["custom"]["route"]["target"] == "112"
    assert FollowupAction("contact_request_form") not in events


def test_after_an_acknowledged_call_an_unsure_message_is_not_the_emergency_again(tracker_for, service):
    called = {
        "event": "bot",
        "text": "…",
        "data": {"custom": {"route": {"type": "emergency", "target": "112", "called": True}}},
    }
    earlier = [user_event("ambulanssi vei sen", "emergency_called"), called]
    ranking = [
        {"name": "caregiver_support", "confidence": 0.55},
        {"name": "income_support", "confidence": 0.3},
    ]
    tracker = tracker_for(
        "onko omaisille mitään tukea", "caregiver_support", ranking=ranking, earlier=earlier
    )
    tracker.latest_message["intent"]["confidence"] = 0.55
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert all(m.get("custom", {}).get("route", {}).get("type") != "emergency" for m in messages)


def test_a_message_that_ends_with_thanks_and_goodbye_says_goodbye_and_asks_the_rating(tracker_for, service):
    earlier = [
        user_event("naapuri tarvitsee kotihoitoa", "elderly_services"),
        {
            "event": "bot",
            "text": "…",
            "data": {"custom": {"route": {"type": "team", "target": "palveluneuvo"}}},
        },
    ]
    text = "Hän pärjää kyllä viikonlopun, käyn katsomassa häntä. Kiitos, hei."
    tracker = tracker_for(text, "nlu_fallback", earlier=earlier)
    messages, events = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_goodbye_rating"
    assert events[-1] == FollowupAction("feedback_form")
