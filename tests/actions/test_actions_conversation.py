"""Answers, follow-ups on the conversation's need, yes and no in context, goodbye, feedback and languages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions_conversation import (
    ActionAnswer,
    ActionEmergencyCalled,
    ActionFeedbackOrComplaint,
    ActionGoodbye,
    ActionGreet,
    ActionNothingToCancel,
    ActionOtherLanguage,
    ActionSmallTalk,
    ActionThank,
    ActionYesOrNo,
)
from actions.actions_escalation import ActionChatHours
from actions.actions_routing import ActionHandleFallback, ActionRoute
from actions.availability import phone_line_now
from opastin import messages as bot_messages
from opastin.finnish_time import HELSINKI
from opastin.routes import default_routes
from tests.actions.conftest import down, make_tracker, user_event


def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def routes_of(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (m["custom"]["route"]["type"], m["custom"]["route"]["target"])
        for m in messages
        if "route" in (m.get("custom") or {})
    ]


def selected(topic: str, confidence: float = 1.0) -> dict[str, Any]:
    return {"faq": {"response": {"intent_response_key": f"faq/{topic}", "confidence": confidence}}}


def bot_route(route: dict[str, Any], text: str = "…") -> dict[str, Any]:
    return {"event": "bot", "text": text, "data": {"custom": {"route": route}}}


def after_emergency(text: str, level: str) -> list[dict[str, Any]]:
    """The events of a first message ``text`` answered with the emergency guidance of ``level``."""
    return [user_event(text, "emergency"), bot_route({"type": "emergency", "target": level})]


PALVELUNEUVO = {"type": "team", "target": "palveluneuvo", "label": "Palveluneuvo"}
MIELENTERVEYS = {"type": "team", "target": "mielenterveys_paihde", "label": "Mielenterveyspalvelut"}
NEUVOLA = {"type": "team", "target": "neuvola", "label": "Neuvola"}
TERVEYSNEUVO = {"type": "team", "target": "terveysneuvo", "label": "Terveysneuvo"}


def test_a_question_gets_its_answer_and_the_team_that_helps_further(tracker_for, service):
    service.agent("terttu", "terveysneuvo")
    tracker = tracker_for("miten uusin reseptin omakannassa", "faq")
    tracker.latest_message["response_selector"] = selected("omakanta_prescription")

    messages, events = run(ActionAnswer(service.factory, service.clock), tracker)

    assert messages[0]["response"] == "utter_faq/omakanta_prescription"
    assert messages[1]["response"] == "utter_answer_team"
    assert routes_of(messages) == [("answer", "omakanta_prescription"), ("team", "terveysneuvo")]
    assert SlotSet("route_target", "terveysneuvo") in events


def test_an_answer_offers_the_team_the_question_names(tracker_for, service):
    tracker = tracker_for("pääseekö fysioterapeutille ilman lähetettä", "faq")
    tracker.latest_message["response_selector"] = selected("referral")

    messages, _ = run(ActionAnswer(service.factory, service.clock), tracker)

    assert messages[0]["response"] == "utter_faq/referral"
    assert routes_of(messages) == [("answer", "referral"), ("team", "fysioterapia")]


def test_an_answer_without_a_team_stands_alone(tracker_for):
    tracker = tracker_for("mikä on maksukatto", "faq")
    tracker.latest_message["response_selector"] = selected("fees_ceiling")
    messages, events = run(ActionAnswer(down), tracker)
    assert [m["response"] for m in messages] == ["utter_faq/fees_ceiling"]
    assert events == [SlotSet("route_type", "answer"), SlotSet("route_target", "fees_ceiling")]


def test_the_same_answer_is_not_given_twice_in_a_row(tracker_for):
    earlier = [user_event("maksukatto?", "faq"), bot_route({"type": "answer", "target": "fees_ceiling"})]
    tracker = tracker_for("entä jos maksukatto täyttyy", "faq", earlier=earlier)
    tracker.latest_message["response_selector"] = selected("fees_ceiling")
    messages, _ = run(ActionAnswer(down), tracker)
    assert messages[0]["response"] is None
    assert messages[0]["text"].startswith("Kiitos tarkennuksesta.")
    assert routes_of(messages) == [("answer", "fees_ceiling")]


def test_a_need_with_an_answer_gets_the_answer_before_its_team(tracker_for, service):
    tracker = tracker_for("tarviin toimeentulotukea", "income_support")
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("answer", "income_support_kela"), ("team", "tyoikaisten_sosiaalityo")]


def test_an_emotional_topic_opens_with_warmth(tracker_for, service):
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker_for("masentaa", "mental_health"))
    assert messages[0]["text"].startswith("Kiitos, että kerroit.")
    assert routes_of(messages) == [("team", "mielenterveys_paihde")]


def test_a_follow_up_that_is_not_understood_stays_with_the_team(tracker_for, service):
    service.agent("paivi", "palveluneuvo")
    earlier = [user_event("isä ei pärjää kotona", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("se ei oikein suostu syömään", "nlu_fallback", earlier=earlier)

    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)

    assert routes_of(messages)[0][:2] == ("team", "palveluneuvo")
    assert messages[0]["response"] == "utter_route_team"
    assert messages[1]["text"].startswith("Palveluneuvon chat on edelleen auki")
    assert "utter_clarify" not in [m["response"] for m in messages]


def unsure_follow_up(tracker_for, earlier, text: str, ranking: list[tuple[str, float]]):
    """A message after ``earlier`` whose most likely intent (``ranking``'s first) is far from sure."""
    (intent, confidence), *_ = ranking
    ranked = [{"name": name, "confidence": value} for name, value in ranking]
    tracker = tracker_for(text, intent, ranking=ranked, earlier=earlier)
    tracker.latest_message["intent"]["confidence"] = confidence
    return tracker


def test_a_follow_up_pointing_back_is_not_taken_for_a_new_need(tracker_for, service):
    earlier = [user_event("isä ei pärjää kotona", "elderly_services"), bot_route(PALVELUNEUVO)]
    ranking = [("debt_advice", 0.55), ("elderly_services", 0.3)]
    tracker = unsure_follow_up(tracker_for, earlier, "entä jos hän ei pysty maksamaan", ranking)

    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)

    assert routes_of(messages)[0] == ("team", "palveluneuvo")


def test_a_vague_message_the_classifier_is_unsure_of_stays_with_the_need(tracker_for, service):
    earlier = [user_event("mulla on ollut raskasta ja masentaa", "mental_health"), bot_route(MIELENTERVEYS)]
    ranking = [("family_support", 0.54), ("faq", 0.2)]
    tracker = unsure_follow_up(tracker_for, earlier, "mä en tiedä mitä tehdä", ranking)

    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)

    assert routes_of(messages)[0][:2] == ("team", "mielenterveys_paihde")


def test_a_clear_new_need_is_recognised_as_new(tracker_for, service):
    earlier = [user_event("isä ei pärjää kotona", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("mulla on hammassärkyä", "dental_care", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "suun_terveydenhuolto")


FYSIOTERAPIA = {"type": "team", "target": "fysioterapia", "label": "Fysioterapia"}


def test_a_symptom_already_talked_about_stays_with_the_team(tracker_for, service):
    earlier = [
        user_event("polvi kipeä portaissa, pääsiskö fysioterapiaan", "physiotherapy"),
        bot_route(FYSIOTERAPIA),
    ]
    tracker = tracker_for("polvi ei oo turvonnu mut kyykkyyn ei pääse", "report_symptom", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "fysioterapia")


def test_a_detail_that_only_denies_symptoms_stays_with_the_team(tracker_for, service):
    hammas = {"type": "team", "target": "suun_terveydenhuolto", "label": "Suun terveydenhuolto"}
    earlier = [user_event("tytöllä reikä hampaassa", "dental_care"), bot_route(hammas)]
    tracker = tracker_for(
        "särkee iltasin mut ei oo turvotusta eikä kuumetta", "report_symptom", earlier=earlier
    )
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "suun_terveydenhuolto")


def test_a_new_symptom_after_a_team_is_a_new_need(tracker_for, service):
    earlier = [user_event("polvi kipeä, pääsiskö fysioterapiaan", "physiotherapy"), bot_route(FYSIOTERAPIA)]
    tracker = tracker_for("entä mä itte, mullaki on kurkku kipee", "report_symptom", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0][0] == "omaolo"
    assert messages[0]["custom"]["route"]["symptom"] == "sore_throat"


def test_a_childs_symptom_after_an_adults_assessment_is_a_new_need(tracker_for, service):
    eye = {"type": "omaolo", "target": "https://www.omaolo.fi/", "symptom": "eye"}
    earlier = [user_event("silmä punoittaa ja rähmii", "report_symptom"), bot_route(eye)]
    age = [{"entity": "age", "value": "5-vuotiaalla"}]
    ranking = [("report_symptom", 0.78), ("family_support", 0.05)]
    tracker = unsure_follow_up(tracker_for, earlier, "ja 5-vuotiaalla pojalla on ihan sama juttu", ranking)
    tracker.latest_message["entities"] = age
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "terveysneuvo")


def _first_route_after_a_child(first: str, intent: str, age: str, team: dict[str, Any], text: str, service):
    """The first route of ``text`` (a symptom) after ``first`` (with a child's ``age``) got ``team``."""
    events = [
        user_event(first, intent, [{"entity": "age", "value": age}]),
        bot_route(team),
        user_event(text, "report_symptom"),
    ]
    messages, _ = run(ActionRoute(service.factory, service.clock), make_tracker(*events))
    return routes_of(messages)[0]


VAMMAIS = {"type": "team", "target": "vammaispalvelut", "label": "Vammaispalvelut"}
DOWN = "6v tytöllä on downin oireyhtymä, saako tilapäishoitoa"


def test_a_symptom_of_se_after_a_childs_age_is_the_childs(service):
    text = "ja sit tänään se on valittanu korvaa, kuumetta 38"
    route = _first_route_after_a_child(DOWN, "disability_services", "6v", VAMMAIS, text, service)
    assert route == ("team", "terveysneuvo")


def test_a_symptom_of_se_with_a_team_that_sees_children_stays_with_it(service):
    dental = {"type": "team", "target": "suun_terveydenhuolto", "label": "Suun terveydenhuolto"}
    text = "sitä särkee iltasin mut ei oo turvotusta eikä kuumetta"
    route = _first_route_after_a_child(
        "6v pojalla on hammas kipeä", "dental_care", "6v", dental, text, service
    )
    assert route == ("team", "suun_terveydenhuolto")


def test_the_writers_own_symptom_after_a_childs_age_is_their_own(service):
    text = "ja sit mulla on itellä korva kipee, se alkoi eilen"
    route = _first_route_after_a_child(DOWN, "disability_services", "6v", VAMMAIS, text, service)
    assert route[0] == "omaolo"


def test_an_adults_symptom_after_a_childs_age_is_the_adults(service):
    text = "entäs mummo, se asuu meillä ja sille alko nyt kans ripuli"
    route = _first_route_after_a_child(DOWN, "disability_services", "6v", VAMMAIS, text, service)
    assert route[0] == "omaolo"


def test_the_writers_own_symptom_after_a_childs_symptom_is_a_new_need(service):
    child = {"type": "team", "target": "terveysneuvo", "label": "Terveysneuvo", "reason": "child_symptom"}
    text = "entä mun selkä, nostin eilen pyykkikorin ja nyt on ihan jumissa"
    route = _first_route_after_a_child(
        "14v tytöllä kurkku kipee ja kuumetta", "report_symptom", "14v", child, text, service
    )
    assert route == ("omaolo", "https://www.omaolo.fi/palvelut/oirearviot/alaselkakipu")


def test_asking_for_the_assessment_means_the_symptom_talked_about(tracker_for, service):
    earlier = [user_event("polvi on kipeä portaissa", "physiotherapy"), bot_route(FYSIOTERAPIA)]
    tracker = tracker_for("vai pitäiskö mun tehä se oirearvio ensin", "report_symptom", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["symptom"] == "knee"


def test_how_to_book_right_after_a_team_is_about_that_team(tracker_for, service):
    katilot = {"type": "team", "target": "katilot", "label": "Kätilöt"}
    earlier = [user_event("oon raskaana, rv 8", "pregnancy"), bot_route(katilot)]
    tracker = tracker_for(
        "pitääks mun ite varata aika vai soittaako sieltä joku", "ask_how_to_book", earlier=earlier
    )
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "katilot")


def test_fees_right_after_a_team_are_the_fees_page(tracker_for, service):
    earlier = [user_event("äiti tarvis kotihoitoa", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("paljonko se kotihoito sit maksaa?", "ask_client_fees", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0][0] == "webpage"


def test_a_team_named_in_a_follow_up_is_a_new_need(tracker_for, service):
    vammais = {"type": "team", "target": "vammaispalvelut", "label": "Vammaispalvelut"}
    earlier = [user_event("voiko saada kuljetuspalvelua", "disability_services"), bot_route(vammais)]
    ranking = [("physiotherapy", 0.55), ("mental_health", 0.3)]
    tracker = unsure_follow_up(tracker_for, earlier, "entäs fysioterapia, miten sais lisää", ranking)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "fysioterapia")


def test_a_request_that_names_no_matter_is_asked_about_with_topics(tracker_for, service):
    ranking = [
        {"name": "disability_services", "confidence": 0.58},
        {"name": "elderly_services", "confidence": 0.3},
    ]
    tracker = tracker_for("mun hakemus", "disability_services", ranking=ranking)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_ask_how_can_help"
    assert messages[0]["custom"] == {"understanding": "clarify"}
    assert [b["payload"] for b in messages[0]["buttons"]][:2] == ["/disability_services", "/elderly_services"]


def test_a_greeting_with_a_vague_request_asks_what_it_is_about(tracker_for):
    messages, _ = run(ActionGreet(), tracker_for("hei tarviin apua", "greet"))
    assert messages[0]["response"] == "utter_ask_how_can_help"
    messages, _ = run(ActionGreet(), tracker_for("hei", "greet"))
    assert messages[0]["response"] == "utter_greet"


def test_the_same_team_asked_again_is_offered_in_new_words(tracker_for, service):
    service.clock.now = datetime(2026, 3, 11, 3, 0, tzinfo=HELSINKI)
    earlier = [user_event("isä ei pärjää kotona", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("kotihoitoa isälle", "elderly_services", earlier=earlier)

    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)

    assert messages[1]["text"].startswith("Koska chat on nyt kiinni, nopein tapa on jättää viesti")
    assert "Palveluneuvon chat on auki seuraavan kerran tänään klo 8–15." in messages[1]["text"]


def test_yes_with_thanks_is_thanks_when_nothing_was_offered(tracker_for, service):
    earlier = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("joo kiitti", "affirm", earlier=earlier)
    messages, _ = run(ActionYesOrNo(service.factory, service.clock), tracker)
    assert [m["response"] for m in messages] == ["utter_you_are_welcome"]


def test_not_understood_right_after_an_emergency_answer_gets_it_again(tracker_for, service):
    earlier = after_emergency("lapsella kova kuume yöllä", "116117")
    tracker = tracker_for("pitääks sinne oikeesti soittaa keskellä yötä", "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("emergency", "116117")]


def test_a_question_read_as_cancel_right_after_an_emergency_answer_gets_it_again(tracker_for):
    earlier = after_emergency("isän käsi ei nouse ja puhe sammaltaa", "112")
    tracker = tracker_for("soitanko itse vai soitatteko te", "cancel", earlier=earlier)
    messages, _ = run(ActionNothingToCancel(), tracker)
    assert routes_of(messages) == [("emergency", "112")]


def test_a_plain_cancel_after_an_emergency_answer_has_nothing_to_cancel(tracker_for):
    earlier = after_emergency("isän käsi ei nouse ja puhe sammaltaa", "112")
    messages, _ = run(ActionNothingToCancel(), tracker_for("peruuta", "cancel", earlier=earlier))
    assert [m["response"] for m in messages] == ["utter_nothing_to_cancel"]


def test_another_matter_after_an_emergency_answer_is_not_held_back(tracker_for, service):
    earlier = after_emergency("mummo jäi yksin", "social")
    ranking = [{"name": "elderly_services", "confidence": 0.35}]
    text = "okei soitan. entäs sit jatkossa, saisko se kotihoitoa"
    tracker = tracker_for(text, "nlu_fallback", ranking=ranking, earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert ("emergency", "social") not in routes_of(messages)


def test_a_matter_announced_after_an_emergency_answer_is_not_held_back(service):
    earlier = after_emergency("korva kipee ja kuumetta 39", "116117")
    text = "ok soitan. kysyisin vielä, milloin teidän chatit on auki"
    unsure = user_event(text, "ask_chat_hours", ranking=[{"name": "ask_chat_hours", "confidence": 0.4}])
    unsure["parse_data"]["intent"]["confidence"] = 0.4
    messages, _ = run(ActionRoute(service.factory, service.clock), make_tracker(*earlier, unsure))
    assert ("emergency", "116117") not in routes_of(messages)


def test_which_number_right_after_a_team_is_that_teams_but_yours_is_the_page(tracker_for, service):
    earlier = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("soitan huomenna sitten, mihin numeroon", "ask_contact_info", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "palveluneuvo")
    tracker = tracker_for("mikä on teiän puhelinnumero", "ask_contact_info", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0][0] == "webpage"


def test_chat_hours_of_the_service_are_every_chats_hours(tracker_for, service):
    earlier = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("milloin teidän chatit ylipäätään on auki", "ask_chat_hours", earlier=earlier)
    messages, _ = run(ActionChatHours(service.factory, service.clock), tracker)
    assert routes_of(messages)[0][0] == "person"


def test_yes_after_a_queue_offer_joins_the_queue(tracker_for, service):
    service.agent("paivi", "palveluneuvo")
    earlier = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    slots = {"route_type": "team", "route_target": "palveluneuvo", "team_availability": "accepting"}
    tracker = tracker_for("joo", "affirm", earlier=earlier, slots=slots)
    messages, events = run(ActionYesOrNo(service.factory, service.clock), tracker)
    assert messages[0]["text"].startswith("Olet nyt jonossa sijalla 1.")
    assert events == [SlotSet("handoff_status", "queued"), FollowupAction("action_listen")]


def test_yes_without_a_question_asks_the_need(tracker_for):
    messages, _ = run(ActionYesOrNo(down), tracker_for("joo", "affirm"))
    assert [m["response"] for m in messages] == ["utter_ask_how_can_help"]


def test_goodbye_after_a_route_asks_the_rating_once(tracker_for):
    routed = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    messages, events = run(ActionGoodbye(), tracker_for("moikka", "goodbye", earlier=routed))
    assert ([m["response"] for m in messages], events) == (
        ["utter_goodbye_rating"],
        [SlotSet("rating_due", True)],
    )

    rated = [*routed, {"event": "action", "name": "feedback_form"}]
    messages, events = run(ActionGoodbye(), tracker_for("moikka", "goodbye", earlier=rated))
    assert ([m["response"] for m in messages], events) == (["utter_goodbye"], [SlotSet("rating_due", False)])


def test_goodbye_after_being_told_where_to_reach_a_person_asks_the_rating(tracker_for):
    told = [
        user_event("voinko puhua hoitajan kanssa", "request_human"),
        bot_route({"type": "person", "target": "none_open"}),
    ]
    messages, _ = run(ActionGoodbye(), tracker_for("kiitos, öitä", "goodbye", earlier=told))
    assert [m["response"] for m in messages] == ["utter_goodbye_rating"]


@pytest.mark.parametrize("text", ["ok palaan huomenna. kiitti", "kiitti, yritetään nukkua"])
def test_thanks_that_take_leave_after_a_route_say_goodbye_with_the_rating(tracker_for, text):
    routed = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    messages, events = run(ActionThank(), tracker_for(text, "thank", earlier=routed))
    assert [m["response"] for m in messages] == ["utter_goodbye_rating"]
    assert events == [SlotSet("rating_due", True)]


@pytest.mark.parametrize(
    ("text", "earlier"), [("okei soitan sinne, kiitos", True), ("kiitti, yritetään nukkua", False)]
)
def test_plain_thanks_or_thanks_before_any_route_are_answered(tracker_for, text, earlier):
    routed = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)] if earlier else []
    messages, events = run(ActionThank(), tracker_for(text, "thank", earlier=routed))
    assert [m["response"] for m in messages] == ["utter_you_are_welcome"]
    assert events == [SlotSet("rating_due", False)]


def test_a_question_worded_as_leaving_right_after_112_gets_the_number_not_a_goodbye(tracker_for):
    route = {"type": "emergency", "target": "112"}
    earlier = [user_event("äiti eksyksissä pakkasella ja muistisairas", "emergency"), bot_route(route)]
    text = "mä lähen autolla ettimään, ehinkö ensin ite"
    messages, events = run(ActionGoodbye(), tracker_for(text, "goodbye", earlier=earlier))
    assert [m["response"] for m in messages] == ["utter_emergency_calling_112"]
    assert routes_of(messages) == [("emergency", "112")]


@pytest.mark.parametrize(
    ("text", "response"),
    [
        ("ok soitan nyt, kiitos", "utter_emergency_thanks_112"),
        ("ok soitan nyt", "utter_emergency_calling_112"),
    ],
)
def test_thanks_or_calling_right_after_112_give_the_number_with_the_call_button(tracker_for, text, response):
    route = {"type": "emergency", "target": "112"}
    earlier = [user_event("rintaa puristaa ja hikoiluttaa", "emergency"), bot_route(route)]
    messages, events = run(ActionThank(), tracker_for(text, "thank", earlier=earlier))
    assert [(m["response"], m["custom"]["route"]) for m in messages] == [(response, route)]
    assert SlotSet("rating_due", False) in events


def test_goodbye_wishes_a_good_night_at_night(tracker_for, monkeypatch):
    monkeypatch.setattr(
        "actions.decisions.helsinki_now", lambda: datetime(2027, 1, 13, 2, 40, tzinfo=HELSINKI)
    )
    routed = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    messages, _ = run(ActionGoodbye(), tracker_for("kiitos, hyvää yötä", "goodbye", earlier=routed))
    assert [(m["response"], m.get("farewell")) for m in messages] == [("utter_goodbye_rating", "Hyvää yötä!")]


def test_goodbye_without_a_route_asks_no_rating(tracker_for):
    messages, events = run(ActionGoodbye(), tracker_for("näkemiin", "goodbye"))
    assert ([m["response"] for m in messages], events) == (["utter_goodbye"], [SlotSet("rating_due", False)])


@pytest.mark.parametrize(
    ("text", "response"),
    [
        ("soitin jo 112", "utter_emergency_called"),
        ("soitin, ambulanssi on tulossa. kiitos", "utter_emergency_called_thanks"),
        ("ambulanssi tulee, kiitti", "utter_emergency_called_thanks"),
    ],
)
def test_help_already_called_is_acknowledged_and_thanks_answered(tracker_for, text, response):
    messages, events = run(ActionEmergencyCalled(), tracker_for(text, "emergency_called"))
    assert ([m["response"] for m in messages], events) == ([response], [])


CALLED_THEN_ELDERLY_SERVICES = [
    {"name": "emergency_called", "confidence": 1.0},
    {"name": "elderly_services", "confidence": 0.8},
]


def test_another_matter_after_help_was_called_is_routed_after_the_acknowledgement(tracker_for, service):
    ranking = CALLED_THEN_ELDERLY_SERVICES
    text = "ok ambulanssi tulossa. kysyisin vielä, miten äidille sais kotihoitoa jatkossa"
    tracker = tracker_for(text, "emergency_called", ranking=ranking)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_called"
    assert ("team", "palveluneuvo") in routes_of(messages)


def test_help_called_with_no_other_matter_is_acknowledged_as_the_lines_guidance_alone(tracker_for, service):
    ranking = CALLED_THEN_ELDERLY_SERVICES
    tracker = tracker_for("ambulanssi on jo tulossa", "emergency_called", ranking=ranking)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert [m.get("response") for m in messages] == ["utter_emergency_called"]
    assert routes_of(messages) == [("emergency", "112")]  # the page's call link, counted as an emergency


def test_a_call_to_the_urgent_care_line_is_acknowledged_with_its_number(tracker_for, service):
    tracker = tracker_for("soitin jo päivystysapuun, odotan soittoa", "emergency_called")
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("emergency", "116117")


def test_a_need_the_call_does_not_meet_gets_its_guidance_after_the_acknowledgement(tracker_for, service):
    text = "soitettiin, ambulanssi tulee. mut pappa on muistisairas eikä voi jäädä yksin kotiin"
    social = [{"entity": "emergency_level", "value": "social"}]
    tracker = tracker_for(text, "emergency_called", entities=social, ranking=CALLED_THEN_ELDERLY_SERVICES)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_called"
    assert routes_of(messages) == [("emergency", "social")]


@pytest.mark.parametrize(
    ("text", "runner_up", "team"),
    [
        # a team's matter named
        ("soitin 112, ambulanssi on matkalla. mut kuka hoitaa sen kotihoitoasian", "greet", "palveluneuvo"),
        # the writer's own matter
        (
            "ambulanssi tulossa. mulla itellä on ollu liikaa juomista, haluisin jutella joskus",
            "substance_use",
            "mielenterveys_paihde",
        ),
    ],
)
def test_a_further_matter_after_help_was_called_is_routed(tracker_for, service, text, runner_up, team):
    ranking = [{"name": "emergency_called", "confidence": 1.0}, {"name": runner_up, "confidence": 0.6}]
    tracker = tracker_for(text, "emergency_called", ranking=ranking)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("emergency", "112"), ("team", team)]


def test_the_fee_page_asked_with_entä_after_the_ceiling_answer_is_given(tracker_for, service):
    earlier = after_the_payment_ceiling()
    text = "entä paljonko yks lääkärikäynti maksaa, onko ne hinnat jossain"
    tracker = tracker_for(text, "ask_client_fees", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("webpage", "https://etelasavonha.fi/asiakasmaksut")]


def test_another_service_asked_about_under_the_ceiling_stays_with_the_answer(tracker_for, service):
    earlier = after_the_payment_ceiling()
    tracker = tracker_for("entä hammashoito, kuuluuks se siihen kattoon", "dental_care", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert ("team", "suun_terveydenhuolto") not in routes_of(messages)
    assert routes_of(messages)[0][0] == "answer"


def test_where_to_see_the_price_list_after_the_ceiling_answer_gets_the_page(tracker_for, service):
    earlier = after_the_payment_ceiling()
    tracker = tracker_for("mistä näkee sen hinnaston", "ask_client_fees", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("webpage", "https://etelasavonha.fi/asiakasmaksut")]


def test_money_running_out_after_an_answer_is_a_need_of_its_own(tracker_for, service):
    earlier = [
        user_event("tuleeko maksu jos unohdin hammaslääkäriajan", "faq"),
        bot_route({"type": "answer", "target": "cancel_appointment"}),
        bot_route({"type": "team", "target": "suun_terveydenhuolto"}),
    ]
    text = "ei me pystytä maksaa sitä, rahat on ihan loppu. mistä saa apua"
    tracker = tracker_for(text, "income_support", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert ("team", "suun_terveydenhuolto") not in routes_of(messages)
    assert ("team", "tyoikaisten_sosiaalityo") in routes_of(messages)


def test_a_number_asked_after_an_answer_is_not_the_answer_again(tracker_for, service):
    earlier = [
        user_event("tarttisin uusinnan verenpainelääkkeelle", "prescription_renewal"),
        bot_route({"type": "answer", "target": "omakanta_prescription"}),
        bot_route({"type": "team", "target": "terveysneuvo"}),
    ]
    tracker = tracker_for("mikä on terveysaseman puhelinnumero", "ask_contact_info", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert ("answer", "omakanta_prescription") not in routes_of(messages)


def test_feedback_on_care_is_answered_with_how_to_complain(tracker_for):
    text = "haluan antaa palautetta, odotin päivystyksessä seitsemän tuntia"
    messages, events = run(ActionFeedbackOrComplaint(down), tracker_for(text, "give_feedback"))
    assert messages[0]["response"] == "utter_faq/complaint"
    assert messages[1]["buttons"] == [{"title": "Arvioi tämä chat", "payload": "/give_feedback"}]
    assert events[-1] == SlotSet("rating_due", False)


@pytest.mark.parametrize("text", ["/give_feedback"])
def test_the_rating_follows_a_live_chat(tracker_for, text):
    messages, events = run(ActionFeedbackOrComplaint(down), tracker_for(text, "give_feedback"))
    assert (messages, events) == ([], [SlotSet("rating_due", True)])


@pytest.mark.parametrize(
    ("moment", "finnish", "english"),
    [
        (datetime(2027, 1, 12, 10, 0, tzinfo=HELSINKI), "palvelee nyt puhelimessa 015 211 8000 klo 15 asti",
         "answers by phone now, until 15:00"),
        (datetime(2027, 1, 13, 3, 0, tzinfo=HELSINKI), "on nyt kiinni; se avautuu tänään klo 8 alkaen",
         "is closed now; it opens today at 08:00"),
        (datetime(2027, 1, 16, 11, 0, tzinfo=HELSINKI), "on nyt kiinni; se avautuu maanantaina klo 8 alkaen",
         "is closed now; it opens on Monday at 08:00"),
    ],
)  # fmt: skip
def test_the_language_notice_says_whether_the_phone_line_is_open_now(moment, finnish, english):
    said = phone_line_now(default_routes().customer_service, moment)
    assert finnish in said["fi"]
    assert english in said["en"]
    assert said["sv"]


def test_the_language_notice_is_the_response_with_the_live_state(tracker_for):
    action = ActionOtherLanguage(down, lambda: datetime(2027, 1, 13, 3, 0, tzinfo=HELSINKI))
    messages, _ = run(action, tracker_for("hello, I need help", "other_language"))
    assert messages[0]["response"] == "utter_other_language"
    assert "kiinni" in messages[0]["fi"]


def test_more_english_after_an_english_emergency_gets_the_guidance_again_in_english(tracker_for):
    route = {"type": "emergency", "target": "116117", "language": "en"}
    earlier = [user_event("my son has 39 fever since yesterday", "emergency"),
               {"event": "bot", "text": "Call 116 117", "data": {"custom": {"route": route}}}]  # fmt: skip
    action = ActionOtherLanguage(down, lambda: datetime(2027, 1, 13, 3, 0, tzinfo=HELSINKI))
    tracker = tracker_for("where is the nearest clinic then?", "other_language", earlier=earlier)
    messages, _ = run(action, tracker)
    assert messages[0]["response"] == "utter_emergency_116117_en"
    assert messages[0]["custom"]["route"] == route


def test_thanks_after_an_english_emergency_are_answered_in_english_without_the_whole_guidance(tracker_for):
    route = {"type": "emergency", "target": "112", "language": "en"}
    earlier = [user_event("chest pain and numb arm", "emergency"),
               {"event": "bot", "text": "Call 112", "data": {"custom": {"route": route}}}]  # fmt: skip
    action = ActionOtherLanguage(down, lambda: datetime(2027, 1, 13, 3, 0, tzinfo=HELSINKI))
    messages, _ = run(action, tracker_for("ok calling now, thanks", "other_language", earlier=earlier))
    assert [m["response"] for m in messages] == ["utter_emergency_thanks_en"]


def test_asking_for_a_person_again_at_night_moves_on_in_new_words(tracker_for, service):
    service.clock.now = datetime(2026, 3, 11, 3, 0, tzinfo=HELSINKI)
    first, _ = run(
        ActionRoute(service.factory, service.clock), tracker_for("haluan ihmisen", "request_human")
    )
    earlier = [user_event("haluan ihmisen", "request_human"), {"event": "bot", "text": first[0]["text"],
               "data": {"custom": first[0]["custom"]}}]  # fmt: skip
    again, _ = run(
        ActionRoute(service.factory, service.clock),
        tracker_for("oikean ihmisen!!", "request_human", earlier=earlier),
    )
    assert routes_of(first) == routes_of(again) == [("person", "none_open")]
    assert again[0]["text"] != first[0]["text"]
    assert again[0]["text"].startswith("Ammattilaisten chatit ovat yhä kiinni")


def test_a_longer_yes_after_a_need_adds_to_it_instead_of_joining_the_queue(tracker_for, service):
    service.agent("paivi", "palveluneuvo")
    earlier = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    slots = {"route_type": "team", "route_target": "palveluneuvo", "team_availability": "accepting"}
    tracker = tracker_for("joo ja hän on jo 85-vuotias", "affirm", earlier=earlier, slots=slots)
    messages, events = run(ActionYesOrNo(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "palveluneuvo")
    assert SlotSet("handoff_status", "queued") not in events


def test_an_answer_the_selector_is_unsure_of_is_not_given(tracker_for):
    tracker = tracker_for("onks siihen mitään apua", "faq")
    tracker.latest_message["response_selector"] = selected("complaint", confidence=0.31)
    messages, _ = run(ActionAnswer(down), tracker)
    assert "utter_faq/complaint" not in [m["response"] for m in messages]
    assert messages[-1]["response"] == "utter_clarify"


def test_an_unsure_answer_after_a_need_adds_to_that_need(tracker_for):
    earlier = [user_event("miten valitan", "faq"), bot_route({"type": "answer", "target": "complaint"})]
    tracker = tracker_for("voiko sen tehdä netissä", "faq", earlier=earlier)
    tracker.latest_message["response_selector"] = selected("referral", confidence=0.25)
    messages, _ = run(ActionAnswer(down), tracker)
    assert routes_of(messages) == [("answer", "complaint")]


def test_a_wish_to_be_called_back_starts_the_form_for_the_team_of_the_matter(tracker_for, service):
    text = "haluun et joku soittais mulle maanantaina isän omaishoidosta"
    messages, events = run(
        ActionRoute(service.factory, service.clock), tracker_for(text, "caregiver_support")
    )
    assert routes_of(messages) == [("form", "contact_request")]
    assert SlotSet("contact_team", "palveluneuvo") in events
    assert events[-1] == FollowupAction("contact_request_form")


def test_asking_for_a_person_right_after_a_crisis_answer_gets_the_crisis_line_and_the_team(
    tracker_for, service
):
    earlier = after_emergency("en jaksa elää", "crisis")
    tracker = tracker_for("onks siellä ketään oikeeta ihmistä", "request_human", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[:2] == [("emergency", "crisis"), ("team", "mielenterveys_paihde")]
    assert messages[0]["response"] == "utter_emergency_crisis"  # the second wording: rasa_addons.no_repeat


def test_asking_for_a_person_right_after_a_112_answer_gets_112_again(tracker_for, service):
    earlier = after_emergency("isä ei hengitä", "112")
    tracker = tracker_for("voinko puhua jonkun kanssa", "request_human", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("emergency", "112")]


def test_chat_hours_without_a_team_are_those_of_the_team_discussed(tracker_for, service):
    earlier = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("monelta se chat aukee?", "ask_chat_hours", earlier=earlier)
    messages, _ = run(ActionChatHours(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("team", "palveluneuvo")]
    assert messages[0]["text"].startswith("Palveluneuvon chat")


def test_a_bare_greeting_after_a_route_takes_leave(tracker_for):
    routed = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    messages, events = run(ActionGreet(), tracker_for("moi", "greet", earlier=routed))
    assert ([m["response"] for m in messages], events) == (
        ["utter_goodbye_rating"],
        [SlotSet("rating_due", True)],
    )
    messages, events = run(ActionGreet(), tracker_for("moi", "greet"))
    assert ([m["response"] for m in messages], events) == (["utter_greet"], [SlotSet("rating_due", False)])


@pytest.mark.parametrize("response", ["utter_you_are_welcome", "utter_emergency_thanks_crisis"])
def test_a_bare_hei_takes_leave_right_after_thanks_were_answered(tracker_for, response):
    thanked = {"event": "bot", "text": "Ole hyvä!", "metadata": {"utter_action": response}}
    routed = [user_event("kotihoito", "elderly_services"), bot_route(PALVELUNEUVO)]
    thanks = [user_event("kiitos", "thank"), thanked]
    messages, _ = run(ActionGreet(down), tracker_for("hei", "greet", earlier=[*routed, *thanks]))
    assert [m["response"] for m in messages] == ["utter_goodbye_rating"]
    messages, _ = run(ActionGreet(down), tracker_for("hei", "greet", earlier=routed))
    assert [m["response"] for m in messages] == ["utter_greet"]


def test_heippa_as_the_first_message_greets(tracker_for):
    messages, events = run(ActionGoodbye(), tracker_for("heippa", "goodbye"))
    assert ([m["response"] for m in messages], events) == (["utter_greet"], [SlotSet("rating_due", False)])


def test_is_anybody_there_after_a_route_asks_for_a_person(tracker_for, service):
    routed = [user_event("äiti ei pärjää kotona", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("onks siel ketään nyt", "greet", earlier=routed)
    messages, _ = run(ActionGreet(service.factory, service.clock), tracker)
    assert [kind for kind, _ in routes_of(messages)] == ["person"]
    messages, _ = run(ActionGreet(down), tracker_for("onks siel ketään", "greet"))
    assert [m["response"] for m in messages] == ["utter_greet"]


def test_small_talk_gets_its_own_answer(tracker_for):
    messages, _ = run(ActionSmallTalk(down), tracker_for("mikä on huomisen sää", "out_of_scope"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


def test_small_talk_right_after_an_emergency_answer_is_about_the_emergency(tracker_for):
    earlier = after_emergency("4v oksentaa ja kuumetta 39,8", "116117")
    tracker = tracker_for("se on kyl hereillä ja juttelee, mut tosi väsyny", "chitchat", earlier=earlier)
    messages, _ = run(ActionSmallTalk(down), tracker)
    assert routes_of(messages) == [("emergency", "116117")]


def test_a_longer_aside_after_a_need_adds_to_it(tracker_for, service):
    earlier = [user_event("äiti tarvii kotihoitoa", "elderly_services"), bot_route(PALVELUNEUVO)]
    text = "ja mä asun itse toisella paikkakunnalla enkä pääse käymään usein"
    messages, _ = run(
        ActionSmallTalk(service.factory, service.clock),
        tracker_for(text, "ask_capabilities", earlier=earlier),
    )
    assert routes_of(messages)[0] == ("team", "palveluneuvo")


KATILOT = {"type": "team", "target": "katilot", "label": "Kätilöt"}


def test_a_babys_mention_with_the_midwives_stays_with_them(tracker_for, service):
    earlier = [user_event("vauva on 2 viikkoa ja imetys sattuu", "pregnancy"), bot_route(KATILOT)]
    baby = [{"entity": "age", "value": 0}]
    tracker = tracker_for(
        "kuumetta ei oo, sattuu vaan kun vauva imee", "report_symptom", baby, earlier=earlier
    )
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "katilot")


def test_an_answer_asked_about_again_keeps_the_team_it_was_given_with(tracker_for, service):
    hammas = {"type": "team", "target": "suun_terveydenhuolto", "label": "Suun terveydenhuolto"}
    earlier = [
        user_event("pitää perua hammaslääkäriaika", "faq"),
        bot_route({"type": "answer", "target": "cancel_appointment"}),
        bot_route(hammas),
    ]
    tracker = tracker_for("tuleeko siitä maksu jos perun päivää ennen", "faq", earlier=earlier)
    tracker.latest_message["response_selector"] = selected("cancel_appointment")
    messages, _ = run(ActionAnswer(service.factory, service.clock), tracker)
    assert ("team", "suun_terveydenhuolto") in routes_of(messages)
    assert ("team", "terveysneuvo") not in routes_of(messages)


def after_the_payment_ceiling() -> list[dict[str, Any]]:
    """A conversation whose bot turn so far answered the payment ceiling, without a team."""
    return [
        user_event("miten maksukatto toimii", "faq"),
        bot_route({"type": "answer", "target": "fees_ceiling"}),
    ]


def test_a_question_about_the_answer_just_given_stays_with_it(tracker_for, service):
    earlier = after_the_payment_ceiling()
    tracker = tracker_for("lasketaanko hammashoidon maksut siihen mukaan?", "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("answer", "fees_ceiling")


def test_another_teams_matter_the_classifier_is_sure_of_after_an_answer_is_a_new_need(tracker_for, service):
    earlier = [
        user_event("miten mä voin uusia äidin reseptit sen puolesta", "faq"),
        bot_route({"type": "answer", "target": "omakanta_on_behalf"}),
    ]
    text = "sille pitäis saada myös kotihoitoo, pärjää huonosti yksin"
    tracker = tracker_for(text, "elderly_services", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "palveluneuvo")


def test_a_team_asked_for_after_an_answer_without_pointing_back_is_that_team(tracker_for, service):
    earlier = after_the_payment_ceiling()
    tracker = tracker_for("entä hammashoito, pääseekö sinne nopeasti", "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "suun_terveydenhuolto")


def test_a_number_asked_for_there_is_the_team_talked_about(tracker_for, service):
    vammais = {"type": "team", "target": "vammaispalvelut", "label": "Vammaispalvelut"}
    earlier = [
        user_event(
            "poika on kehitysvammainen, haluan tietää henkilökohtaisesta avusta", "disability_services"
        ),
        bot_route(vammais),
        user_event("peruuta", "cancel"),
        {"event": "bot", "text": "Selvä, keskeytin viestin jättämisen."},
    ]
    tracker = tracker_for("mikä se numero sinne on?", "ask_contact_info", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "vammaispalvelut")


def test_booking_there_after_an_answer_is_the_team_the_resident_named(tracker_for, service):
    earlier = [
        user_event("tarviiks fyssariin lähetteen vai pääseekö suoraan", "faq"),
        bot_route({"type": "answer", "target": "referral"}),
    ]
    tracker = tracker_for("okei, miten mä saan sinne ajan", "ask_how_to_book", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "fysioterapia")


def test_the_services_own_number_is_still_the_page(tracker_for, service):
    earlier = [
        user_event("hammas särkee", "dental_care"),
        bot_route({"type": "team", "target": "suun_terveydenhuolto"}),
    ]
    tracker = tracker_for("mikä on teidän numero", "ask_contact_info", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert messages[0]["custom"]["route"]["type"] == "webpage"
    assert messages[0]["custom"]["route"]["page"] == "contact_info"


def test_a_wish_to_be_called_back_goes_to_the_team_the_bot_offered_not_to_a_follow_ups_intent(
    tracker_for, service
):
    earlier = [
        user_event("poika tarttis kuljetuspalvelua, miten sitä haetaan", "disability_services"),
        bot_route({"type": "team", "target": "vammaispalvelut"}),
        user_event("tarviiko hakemukseen jonkun lääkärinlausunnon", "sick_note"),
        bot_route({"type": "team", "target": "vammaispalvelut"}),
    ]
    tracker = tracker_for("voinko jättää yhteydenottopyynnön", "contact_request", earlier=earlier)
    messages, events = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("form", "contact_request")]
    assert SlotSet("contact_team", "vammaispalvelut") in events


def test_an_unsure_answer_whose_question_names_another_answers_keywords_gives_that_answer(tracker_for):
    tracker = tracker_for("no okei voin kirjottaa suomeks. miten mä uusin reseptin", "faq")
    tracker.latest_message["response_selector"] = selected("referral", confidence=0.3)
    messages, _ = run(ActionAnswer(down), tracker)
    assert routes_of(messages)[0] == ("answer", "omakanta_prescription")


def test_a_vague_first_message_taken_for_goodbye_asks_what_it_is_about(tracker_for):
    messages, _ = run(ActionGoodbye(), tracker_for("moi, kysyisin vaimon puolesta", "goodbye"))
    assert [m["response"] for m in messages] == ["utter_ask_how_can_help"]


def test_a_person_asked_for_while_the_team_is_closed_gets_the_open_teams(tracker_for, service):
    # Tuesday 12:30: the midwives' chat is closed (Monday and Thursday), the health centre's open.
    service.agent("terttu", "terveysneuvo")
    earlier = [user_event("oon raskaana ja haluun kysyä liikunnasta", "pregnancy"), bot_route(KATILOT)]
    tracker = tracker_for("voinko puhua jonkun ihmisen kanssa nyt", "request_human", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("team", "katilot"), ("person", "offered")]
    offer = messages[-1]
    assert offer["custom"]["route"]["teams"] == ["terveysneuvo"]
    assert "chat on nyt auki" in offer["text"]


def test_no_other_team_offered_when_the_team_takes_the_resident(tracker_for, service):
    service.agent("paivi", "palveluneuvo")
    earlier = [user_event("äiti tarvii kotihoitoa", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("voinko puhua ihmisen kanssa", "request_human", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("team", "palveluneuvo")]


def test_a_longer_message_read_as_a_greeting_after_a_need_adds_to_it(tracker_for, service):
    routed = [
        user_event("vauvan rokotus jäi väliin, miten saa uuden ajan", "child_health_clinic"),
        bot_route(NEUVOLA),
    ]
    tracker = tracker_for("se on 8kk ja nyt ihan terve taas", "greet", earlier=routed)
    messages, _ = run(ActionGreet(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "neuvola")


def test_playing_down_after_a_112_answer_gets_it_again(tracker_for, service):
    earlier = after_emergency("rintaa puristaa ja vasen käsi tuntuu oudolta", "112")
    tracker = tracker_for("no se meni jo vähän ohi ei varmaan tarvi", "deny", earlier=earlier)
    messages, _ = run(ActionYesOrNo(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("emergency", "112")]


def test_a_talk_later_after_the_crisis_answer_gets_the_team_that_helps_on(tracker_for, service):
    earlier = after_emergency("ois helpompaa jos mua ei ois", "crisis")
    text = "voiko joskus myöhemmin jutella jonkun kanssa tästä, ei mitenkään kiireellisesti"
    tracker = tracker_for(text, "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "mielenterveys_paihde")


def test_not_wanting_the_assessment_offers_a_person_instead(tracker_for, service):
    earlier = [
        user_event("virtsatessa kirvelee", "report_symptom"),
        bot_route(
            {"type": "omaolo", "target": "https://www.omaolo.fi/", "symptom": "urinary_tract_infection"}
        ),
    ]
    text = "entä jos en halua tehdä sitä testiä, voinko soittaa tai kirjottaa jonnekin"
    tracker = tracker_for(text, "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "terveysneuvo")


def test_told_by_the_assessment_to_contact_a_team_offers_that_team(tracker_for, service):
    earlier = [
        user_event("polvi on ollut kipeä kuukausia", "report_symptom"),
        bot_route({"type": "omaolo", "target": "https://www.omaolo.fi/", "symptom": "knee"}),
    ]
    text = "tein sen jo eilen ja se sano et ota yhteys fysioterapiaan"
    tracker = tracker_for(text, "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "fysioterapia")


def test_yes_naming_a_team_after_a_person_offer_is_that_team(tracker_for, service):
    offered = [
        user_event("haluisin jutella ihmisen kanssa", "request_human"),
        bot_route({"type": "person", "target": "offered"}),
    ]
    tracker = tracker_for("joo palveluneuvo kuulostaa oikealta", "affirm", earlier=offered)
    messages, _ = run(ActionYesOrNo(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "palveluneuvo")


def test_a_team_named_after_a_page_is_that_team_even_pointing_back(tracker_for, service):
    hammas = {"type": "team", "target": "suun_terveydenhuolto", "label": "Suun terveydenhuolto"}
    earlier = [
        user_event("hammas lohkes eilen", "dental_care"),
        bot_route(hammas),
        user_event("paljonko hammaslääkärissä käynti maksaa", "ask_client_fees"),
        bot_route({"type": "webpage", "target": "https://example.org/asiakasmaksut", "page": "client_fees"}),
    ]
    ranking = [("request_human", 0.58), ("dental_care", 0.11)]
    text = "selvä. pääsisinkö sinne hammashoitoon juttelemaan nyt"
    tracker = unsure_follow_up(tracker_for, earlier, text, ranking)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "suun_terveydenhuolto")


def test_a_question_about_the_assessment_just_offered_stays_with_it(tracker_for, service):
    uti = {
        "type": "omaolo",
        "target": "https://www.omaolo.fi/",
        "symptom": "urinary_tract_infection",
        "label": "virtsatietulehdus",
    }
    earlier = [user_event("pissatessa kirvelee tosi paljon", "report_symptom"), bot_route(uti)]
    ranking = [("substance_use", 0.79), ("report_symptom", 0.14)]
    tracker = unsure_follow_up(
        tracker_for, earlier, "oon 16, voinks mä käyttää sitä oirearviota ite", ranking
    )
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0][0] == "omaolo"
    assert messages[-1]["custom"]["route"]["symptom"] == "urinary_tract_infection"


def test_help_at_home_asked_after_physiotherapy_is_a_new_need(tracker_for, service):
    earlier = [user_event("tarvitsisin rollaattorin lainaksi", "physiotherapy"), bot_route(FYSIOTERAPIA)]
    text = "Entäs jos tarvitsisin apua kotiin siivoukseen ja kaupassa käyntiin"
    tracker = tracker_for(text, "elderly_services", earlier=earlier)
    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "palveluneuvo")


def test_the_services_one_chat_after_a_team_is_that_teams_chat(tracker_for, service):
    earlier = [user_event("omaishoidon tuesta", "caregiver_support"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("milloin se teidän chatti on auki", "ask_chat_hours", earlier=earlier)
    messages, _ = run(ActionChatHours(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("team", "palveluneuvo"), ("webpage", "https://etelasavonha.fi/chat")]


def test_another_persons_prescriptions_after_their_team_get_the_on_behalf_answer(tracker_for, service):
    earlier = [user_event("isä tarvii apua kotiin", "elderly_services"), bot_route(PALVELUNEUVO)]
    text = (
        "ai niin viel yks juttu, miten mä pääsen näkee isän reseptit omakannassa? hän ei osaa käyttää nettiä"
    )
    tracker = tracker_for(text, "faq", earlier=earlier)
    tracker.latest_message["response_selector"] = {
        "faq": {"response": {"intent_response_key": "faq/omakanta_on_behalf", "confidence": 0.97}}
    }
    messages, _ = run(ActionAnswer(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("answer", "omakanta_on_behalf")


def test_help_called_in_swedish_is_acknowledged_in_swedish_with_the_language_notice(tracker_for):
    text = "ambulansen är på väg nu. kan jag senare få hjälp med hemvård för henne?"
    tracker = tracker_for(text, "emergency_called", entities=[{"entity": "language", "value": "sv"}])
    messages, _ = run(ActionEmergencyCalled(), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_called_sv", "utter_other_language"]


def test_thanks_with_help_called_in_english_after_an_english_emergency_are_answered_in_english(tracker_for):
    earlier = [
        user_event("my grandma can't move her arm", "emergency"),
        bot_route({"type": "emergency", "target": "112", "language": "en"}),
    ]
    language = [{"entity": "language", "value": "en"}]
    tracker = tracker_for(
        "ok, the ambulance is coming. thank you", "emergency_called", language, earlier=earlier
    )
    messages, _ = run(ActionEmergencyCalled(), tracker)
    assert [m["response"] for m in messages] == ["utter_emergency_thanks_en"]


def test_a_short_message_read_as_a_greeting_without_a_greeting_word_adds_to_the_need(tracker_for, service):
    routed = [user_event("tarviin ajan lääkärille", "health_centre_appointment"), bot_route(TERVEYSNEUVO)]
    tracker = tracker_for("onks siel paljo jonoo", "greet", earlier=routed)
    messages, _ = run(ActionGreet(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "terveysneuvo")


CALLED = {"name": "emergency_called", "confidence": 1.0}


@pytest.mark.parametrize(
    ("text", "others"),
    [
        ("ok ambulanssi on tulossa. mut mistä saa apua sen juomiseen?", [("substance_use", 0.7)]),
        # the classifier unsure: the team it leans to rather than no answer
        (
            "ambulanssi vei sen. mistä se saa apua tähän käyttöön kun se pääsee sairaalasta",
            [("nlu_fallback", 0.4), ("substance_use", 0.32)],
        ),
    ],
)
def test_a_question_about_help_after_help_was_called_is_routed(tracker_for, service, text, others):
    ranking = [CALLED, *({"name": name, "confidence": confidence} for name, confidence in others)]
    tracker = tracker_for(text, "emergency_called", ranking=ranking)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_called"
    assert routes_of(messages) == [("emergency", "112"), ("team", "mielenterveys_paihde")]


def test_a_question_about_help_after_help_was_called_with_no_guess_offers_a_person(tracker_for, service):
    text = "ambulanssi vei sen. mistä saa apua tähän"
    ranking = [CALLED, {"name": "nlu_fallback", "confidence": 0.4}]
    tracker = tracker_for(text, "emergency_called", ranking=ranking)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_called"
    assert [kind for kind, _ in routes_of(messages)] == ["emergency", "person"]


def test_a_complaint_asked_right_after_116117_gets_the_complaint_answer(tracker_for, service):
    earlier = after_emergency("tyttö ei oo juonu koko päivänä ja pissaa tullu kerran", "116117")
    text = "ja kyl ärsyttää et kukaan ei vastannu terveysasemalla koko viikkona. mihin tästä voi valittaa"
    tracker = tracker_for(text, "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert ("answer", "complaint") in routes_of(messages)


def test_not_managing_the_online_assessment_offers_a_person(tracker_for, service):
    back = {"type": "omaolo", "target": "https://www.omaolo.fi/", "symptom": "back_pain"}
    earlier = [user_event("selkä on ollu kipee viikon", "report_symptom"), bot_route(back)]
    tracker = tracker_for("en mä osaa noita nettikyselyitä tehä", "deny", earlier=earlier)
    messages, _ = run(ActionYesOrNo(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "terveysneuvo")


def test_a_follow_up_to_a_childs_symptom_keeps_it_the_childs(tracker_for, service):
    child = {"type": "team", "target": "terveysneuvo", "reason": "child_symptom"}
    earlier = [user_event("mun lapsi on valittanu korvaa eilisestä asti", "report_symptom"), bot_route(child)]
    tracker = tracker_for("siis se on 3v. yöllä heräs monta kertaa itkee", "nlu_fallback", earlier=earlier)
    messages, _ = run(ActionHandleFallback(service.factory, service.clock), tracker)
    routed = [m["custom"]["route"] for m in messages if "route" in (m.get("custom") or {})]
    assert [(route["target"], route.get("reason")) for route in routed] == [("terveysneuvo", "child_symptom")]


RESOLVED = [{"entity": "emergency_resolved", "value": "resolved"}]


def test_an_emergency_over_is_acknowledged_and_what_remains_is_routed(tracker_for, service):
    text = "se löyty naapurin pihalta, nyt se on kotona ja ihan kunnossa. mut ei se pärjää enää yksin"
    earlier = [
        user_event("äiti on kadonnu pakkaseen", "emergency"),
        bot_route({"type": "emergency", "target": "112"}),
    ]
    tracker = tracker_for(
        text, "emergency_called", entities=RESOLVED, ranking=CALLED_THEN_ELDERLY_SERVICES, earlier=earlier
    )
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_resolved"
    assert routes_of(messages) == [("team", "palveluneuvo")]


def test_an_emergency_over_with_no_emergency_answered_is_only_routed(tracker_for, service):
    text = "ambulanssi kävi eilen, isälle tarvittais nyt kotihoitoa"
    tracker = tracker_for(text, "emergency_called", entities=RESOLVED, ranking=CALLED_THEN_ELDERLY_SERVICES)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert "utter_emergency_resolved" not in [m.get("response") for m in messages]
    assert routes_of(messages) == [("team", "palveluneuvo")]


def test_an_emergency_over_with_nothing_else_and_no_emergency_answered_asks_how_to_help(tracker_for, service):
    ranking = [{"name": "emergency_called", "confidence": 1.0}, {"name": "greet", "confidence": 0.2}]
    tracker = tracker_for("poliisi kävi eilen", "emergency_called", entities=RESOLVED, ranking=ranking)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert [m.get("response") for m in messages] == ["utter_ask_how_can_help"]


@pytest.mark.parametrize(
    ("text", "intent", "response"),
    [
        ("en mä tiiä. en mä varmaan tee mitään", "deny", "utter_emergency_unsure_crisis"),
        ("ok", "affirm", "utter_emergency_calling_crisis"),
    ],
)
def test_a_yes_or_no_right_after_the_crisis_answer_gets_its_numbers_again(
    tracker_for, service, text, intent, response
):
    route = {"type": "emergency", "target": "crisis"}
    earlier = [user_event("en jaksa enää, ois helpompi jos mua ei ois", "emergency"), bot_route(route)]
    messages, events = run(
        ActionYesOrNo(service.factory, service.clock), tracker_for(text, intent, earlier=earlier)
    )
    assert [(m["response"], m["custom"]["route"]) for m in messages] == [(response, route)]
    assert events[-1] == FollowupAction("action_listen")


def test_a_team_named_right_after_the_crisis_answer_is_that_team(tracker_for, service):
    route = {"type": "emergency", "target": "crisis"}
    earlier = [user_event("en jaksa enää, ois helpompi jos mua ei ois", "emergency"), bot_route(route)]
    tracker = tracker_for("joo sinne mielenterveyspuolelle", "affirm", earlier=earlier)
    messages, _ = run(ActionYesOrNo(service.factory, service.clock), tracker)
    assert ("team", "mielenterveys_paihde") in routes_of(messages)


def test_thanks_the_classifier_doubted_against_a_yes_is_answered_as_thanks(tracker_for, service):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "thank", "confidence": 0.53},
        {"name": "affirm", "confidence": 0.44},
    ]
    tracker = tracker_for("joo kiitti", "nlu_fallback", ranking=ranking)
    messages, events = run(ActionHandleFallback(service.factory, service.clock), tracker)
    assert [m.get("response") for m in messages] == ["utter_you_are_welcome"]
    assert events == [SlotSet("rating_due", False)]


def test_other_open_chats_offered_again_in_a_row_are_worded_anew(tracker_for, service):
    service.agent("terttu", "terveysneuvo")  # Tuesday 12.30: dental care open but nobody there
    dental = {"type": "team", "target": "suun_terveydenhuolto", "label": "Suun terveydenhuolto"}
    first = bot_messages.text("bot.human.others_open")
    earlier = [user_event("hammas särkee", "dental_care"), bot_route(dental), bot_route(dental, first)]
    tracker = tracker_for("haluun puhua ihmisen kanssa", "request_human", earlier=earlier)
    sent, _ = run(ActionRoute(service.factory, service.clock), tracker)
    texts = [m.get("text") for m in sent]
    assert first not in texts
    assert bot_messages.text("bot.human.others_open_again") in texts


def test_a_denial_that_asks_for_someone_after_the_crisis_answer_gets_the_line_and_the_team(
    tracker_for, service
):
    earlier = after_emergency("oon viillelly taas", "crisis")
    denied = [{"entity": "emergency_denied", "value": "crisis"}]
    tracker = tracker_for(
        "ei se oo syvä enkä mä halua kuolla. haluun vaan et joku puhuis", "deny", denied, earlier=earlier
    )
    messages, _ = run(ActionYesOrNo(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_reminder_crisis"
    assert ("team", "mielenterveys_paihde") in routes_of(messages)


def test_a_finnish_question_on_a_services_language_stays_with_that_service(tracker_for, service):
    earlier = [user_event("naapuri tarvitsee kotihoitoa", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("Saako palveluneuvosta palvelua ruotsiksi?", "other_language", earlier=earlier)
    messages, _ = run(ActionOtherLanguage(service.factory, service.clock), tracker)
    assert routes_of(messages) == [("team", "palveluneuvo")]


def test_asking_whether_a_friend_may_write_in_english_here_gets_the_language_notice(tracker_for, service):
    earlier = [user_event("naapuri tarvitsee kotihoitoa", "elderly_services"), bot_route(PALVELUNEUVO)]
    tracker = tracker_for("voiks mun kämppis kirjottaa täs englanniks", "other_language", earlier=earlier)
    messages, _ = run(ActionOtherLanguage(service.factory, service.clock), tracker)
    assert [m.get("response") for m in messages] == ["utter_other_language"]


def test_a_person_asked_for_tomorrow_after_the_call_gets_the_team_after_the_crisis(tracker_for, service):
    earlier = [
        *after_emergency("poika sanoo ettei halua elää", "crisis"),
        *after_emergency("se on ottanut unilääkkeitä", "112"),
    ]
    ranking = [{"name": "emergency_called", "confidence": 1.0}, {"name": "request_human", "confidence": 0.7}]
    text = "Soitin hätänumeroon, ambulanssi on menossa. Voinko huomenna puhua jonkun kanssa jaksamisestani?"
    tracker = tracker_for(text, "emergency_called", ranking=ranking, earlier=earlier)
    messages, _ = run(ActionEmergencyCalled(service.factory, service.clock), tracker)
    assert messages[0]["response"] == "utter_emergency_called"
    assert ("team", "mielenterveys_paihde") in routes_of(messages)


def test_chat_hours_asked_after_the_crisis_answer_are_the_mental_health_teams(tracker_for, service):
    earlier = after_emergency("ei oo mitään järkee jatkaa", "crisis")
    tracker = tracker_for(
        "onks teillä joku chatti mihin vois kirjottaa huomenna", "ask_chat_hours", earlier=earlier
    )
    messages, _ = run(ActionChatHours(service.factory, service.clock), tracker)
    assert routes_of(messages)[0] == ("team", "mielenterveys_paihde")
