"""Escalation against a real handoff service app: offer, join, decline and chat hours.

The service runs in-process (TestClient) on a fresh SQLite database; its clock
and the actions' clock are the same FakeClock, Tuesday 10 March 2026 12:30
Helsinki time unless a test moves it.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions_escalation import ActionChatHours, ActionDeclineQueue, ActionJoinQueue
from actions.actions_routing import ActionRoute
from handoff.models import Conversation
from opastin.finnish_time import HELSINKI
from tests.actions.conftest import down, make_tracker, user_event

JOIN = [
    {"title": "Kyllä, jonoon", "payload": "/join_queue"},
    {"title": "Ei kiitos", "payload": "/decline_queue"},
]
FORM = [{"title": "Jätä yhteydenottopyyntö", "payload": "/contact_request"}]
NEUVOLA_ALTERNATIVES = (
    "Voit jättää kiireettömän yhteydenottopyynnön, niin ammattilainen ottaa sinuun yhteyttä. "
    "Voit myös katsoa ohjeita verkkosivulta "
    "https://etelasavonha.fi/palvelut/perhe-ja-lapsipalvelut/neuvolapalvelut "
    "tai soittaa numeroon 015 211 8400."
)
IDENTIFICATION = (
    "Huomaa, että tämän palvelun ammattilainen tarvitsee vahvan tunnistautumisen (esimerkiksi "
    "pankkitunnukset tai mobiilivarmenne), ennen kuin hän voi käsitellä henkilökohtaisia tietojasi. "
    "Voit tunnistautua chatissa, kun odotat jonossa. "
    "Jos et voi tunnistautua, soita numeroon 015 211 8400."
)
TEAM_SLOTS = {"route_type": "team", "route_target": "neuvola"}


def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def route_neuvola(service: Any, tracker_for: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    tracker = tracker_for("lapsen rokotukset neuvolassa", "child_health_clinic")
    return run(ActionRoute(service.factory, service.clock), tracker)


def offer(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """The text and buttons of the message after the route decision (a warm opening may come first)."""
    decision = next(i for i, message in enumerate(messages) if "route" in (message.get("custom") or {}))
    return messages[decision + 1]["text"], messages[decision + 1]["buttons"]


def test_open_team_with_a_queue_offers_to_join_with_length_and_wait(service, tracker_for):
    service.agent("maija", "neuvola")
    service.agent("liisa", "neuvola")
    service.client.create_handoff("w-1", "neuvola", "", [])
    service.client.create_handoff("w-2", "neuvola", "", [])

    messages, events = route_neuvola(service, tracker_for)

    assert messages[0]["custom"]["route"] == {
        "type": "team",
        "target": "neuvola",
        "label": "Neuvola",
        "open": True,
        "accepting": True,
        "queue_length": 2,
        "estimated_wait_s": 450,
    }
    assert offer(messages) == (
        "Neuvolan chat on nyt auki. Jonossa on 2 asiakasta, arvioitu odotusaika noin 8 minuuttia. "
        f"{IDENTIFICATION} Haluatko jonoon?",
        JOIN,
    )
    assert events[-1] == SlotSet("team_availability", "accepting")


def test_team_without_identification_is_offered_without_the_notice(service, tracker_for):
    service.agent("pekka", "perhekeskus")
    tracker = tracker_for("perheessä riitaa", "family_support")

    messages, _ = run(ActionRoute(service.factory, service.clock), tracker)

    assert offer(messages) == (
        "Perhekeskuksen chat on nyt auki. Jonossa ei ole ketään, arvioitu odotusaika noin 5 minuuttia. "
        "Haluatko jonoon?",
        JOIN,
    )


@pytest.mark.parametrize(
    ("now", "next_opening"),
    [
        # Weekday after closing: tomorrow.
        (datetime(2026, 3, 10, 15, 0, tzinfo=HELSINKI), "huomenna klo 12–14"),
        # Friday evening: Monday.
        (datetime(2026, 3, 13, 18, 0, tzinfo=HELSINKI), "maanantaina klo 12–14"),
        # Saturday: Monday.
        (datetime(2026, 3, 14, 10, 0, tzinfo=HELSINKI), "maanantaina klo 12–14"),
        # Good Friday 3 April 2026 and Easter Monday 6 April are public holidays: Tuesday.
        (datetime(2026, 4, 3, 12, 30, tzinfo=HELSINKI), "tiistaina klo 12–14"),
        # Before opening the same day.
        (datetime(2026, 3, 10, 9, 0, tzinfo=HELSINKI), "tänään klo 12–14"),
    ],
)
def test_closed_team_tells_the_next_opening_and_the_alternatives(service, tracker_for, now, next_opening):
    service.clock.now = now
    service.agent("maija", "neuvola")

    messages, events = route_neuvola(service, tracker_for)

    assert messages[0]["custom"]["route"]["open"] is False
    assert offer(messages) == (
        f"Neuvolan chat on nyt suljettu. Se on auki seuraavan kerran {next_opening}. {NEUVOLA_ALTERNATIVES}",
        FORM,
    )
    assert events[-1] == SlotSet("team_availability", "closed")


@pytest.mark.parametrize(
    "exceptions",
    [
        {
            "neuvola": [
                {"date": date(2026, 3, 10), "closed": True, "note": "Koulutuspäivä"},
                {"date": date(2026, 3, 11), "hours": "09:00-11:30"},
            ]
        }
    ],
)
def test_exception_day_closes_the_team_and_moves_the_next_opening(service, tracker_for):
    messages, _ = route_neuvola(service, tracker_for)

    assert offer(messages)[0].startswith(
        "Neuvolan chat on nyt suljettu. Se on auki seuraavan kerran huomenna klo 9–11.30."
    )


def test_open_but_nobody_present_says_so_honestly(service, tracker_for):
    service.agent("maija", "neuvola", present=False)

    messages, events = route_neuvola(service, tracker_for)

    assert offer(messages) == (
        "Neuvolan chat on auki klo 14 asti, mutta juuri nyt paikalla ei ole ketään vastaamassa, joten en voi "
        f"luvata, että ammattilainen ehtisi vastata sinulle chatissa. {NEUVOLA_ALTERNATIVES}",
        FORM,
    )
    assert events[-1] == SlotSet("team_availability", "nobody_present")


def test_full_queue_is_not_offered(service, tracker_for):
    service.agent("maija", "neuvola")
    for number in range(3):  # capacity: one agent × 3 chats
        service.client.create_handoff(f"w-{number}", "neuvola", "", [])

    messages, events = route_neuvola(service, tracker_for)

    assert offer(messages) == (
        "Neuvolan chat on auki, mutta jono on juuri nyt täynnä, joten et valitettavasti mahdu jonoon. "
        f"{NEUVOLA_ALTERNATIVES}",
        FORM,
    )
    assert events[-1] == SlotSet("team_availability", "queue_full")


def test_service_down_promises_no_person(tracker_for):
    tracker = tracker_for("lapsen rokotukset neuvolassa", "child_health_clinic")

    messages, events = run(ActionRoute(down), tracker)

    assert messages[0]["custom"] == {"route": {"type": "team", "target": "neuvola", "label": "Neuvola"}}
    assert offer(messages) == (
        "En juuri nyt saa yhteyttä ammattilaisten chat-palveluun, joten en voi tarkistaa, pääsetkö chattiin. "
        f"{NEUVOLA_ALTERNATIVES}",
        FORM,
    )
    assert events[-1] == SlotSet("team_availability", "unavailable")


def _conversation() -> list[dict[str, Any]]:
    return [
        {
            **user_event("lapsen rokotukset neuvolassa, hetu 131052-308T", "child_health_clinic"),
            "timestamp": 0,
        },
        {"event": "bot", "text": "Tässä asiassa sinua auttaa Neuvola.", "timestamp": 1},
        user_event("/join_queue", "join_queue"),
    ]


def test_join_creates_the_handoff_with_a_masked_summary_and_tells_the_position(service, tracker_for):
    service.agent("maija", "neuvola")
    service.client.create_handoff("w-1", "neuvola", "", [])
    tracker = make_tracker(*_conversation(), slots=TEAM_SLOTS)

    messages, events = run(ActionJoinQueue(service.factory, service.clock), tracker)

    assert [m["text"] for m in messages] == [
        "Olet nyt jonossa sijalla 2. Arvioitu odotusaika on noin 10 minuuttia. Ammattilainen vastaa sinulle "
        "tässä samassa ikkunassa. Voit kirjoittaa asiasi jo valmiiksi, niin hän näkee sen. Pidä tämä ikkuna "
        "auki. Hätätilanteessa soita 112."
    ]
    assert events == [SlotSet("handoff_status", "queued")]
    with service.db.reading() as session:
        conversation = session.get(Conversation, "test")
        assert conversation.team_id == "neuvola"
        assert conversation.summary == "lapsen rokotukset neuvolassa, hetu ******-****"


def test_join_goes_to_the_team_the_answer_names(service):
    service.agent("maija", "terveysneuvo")
    events = [*_conversation()[:-1], user_event("no laita mut sit sinne terveysneuvon jonoon", "join_queue")]

    tracker = make_tracker(*events, slots=TEAM_SLOTS)
    messages, _ = run(ActionJoinQueue(service.factory, service.clock), tracker)

    assert messages[-1]["custom"]["route"]["target"] == "terveysneuvo"
    with service.db.reading() as session:
        assert session.get(Conversation, "test").team_id == "terveysneuvo"


def test_join_refused_when_the_team_closed_meanwhile(service):
    service.agent("maija", "neuvola")
    service.clock.now = datetime(2026, 3, 10, 14, 0, tzinfo=HELSINKI)

    offered_open = {**TEAM_SLOTS, "team_availability": "accepting"}
    messages, events = run(
        ActionJoinQueue(service.factory, service.clock), make_tracker(*_conversation(), slots=offered_open)
    )

    assert messages[0]["text"] == (
        f"Neuvolan chat ehti juuri sulkeutua, joten en voinut lisätä sinua jonoon. {NEUVOLA_ALTERNATIVES}"
    )
    assert messages[0]["buttons"] == FORM
    assert events == [SlotSet("handoff_status", "team_closed")]


def test_asking_to_queue_for_a_chat_closed_all_evening_tells_when_it_opens(service):
    """ "eiks mua voi vaan laittaa jonoon" at 22:00, after the route said the chat is closed: not "it
    just closed", but the next opening, the alternatives, and 116 117 as every chat is closed."""
    service.agent("maija", "neuvola")
    service.clock.now = datetime(2026, 3, 10, 22, 0, tzinfo=HELSINKI)

    messages, events = run(
        ActionJoinQueue(service.factory, service.clock), make_tracker(*_conversation(), slots=TEAM_SLOTS)
    )

    assert messages[0]["text"] == (
        "Neuvolan chat on nyt suljettu. Se on auki seuraavan kerran huomenna klo 12–14. "
        f"{NEUVOLA_ALTERNATIVES} Jos terveysasiasi on kiireellinen eikä voi odottaa, soita Päivystysapuun, "
        "puhelin 116 117."
    )
    assert messages[0]["buttons"] == FORM
    assert messages[0]["custom"]["route"]["open"] is False
    assert events == [SlotSet("handoff_status", "team_closed"), SlotSet("team_availability", "closed")]


def test_asking_again_to_queue_when_the_queue_was_full_moves_on_to_the_form_and_the_phone(service):
    """The queue was full when the route offered the team; "no laita mut sinne jonoon" a moment later
    is told anew that nobody can take the chat now, not that the queue "just" filled up."""
    service.agent("maija", "neuvola")
    service.clock.now = datetime(2026, 3, 10, 13, 0, tzinfo=HELSINKI)
    for number in range(3):  # capacity: one agent × 3 chats
        service.client.create_handoff(f"w-{number}", "neuvola", "", [])
    told_full = {**TEAM_SLOTS, "team_availability": "queue_full"}

    messages, events = run(
        ActionJoinQueue(service.factory, service.clock), make_tracker(*_conversation(), slots=told_full)
    )

    assert messages[0]["text"] == (
        "Kukaan ei ehdi juuri nyt vastata chatissa, joten jätä viesti, niin ammattilainen ottaa sinuun "
        "yhteyttä, tai soita numeroon 015 211 8400."
    )
    assert messages[0]["custom"]["route"]["accepting"] is False
    assert events[-1] == SlotSet("team_availability", "queue_full")


def test_asking_to_queue_right_after_the_same_words_takes_the_other_wording(service):
    service.agent("maija", "neuvola")
    service.clock.now = datetime(2026, 3, 10, 13, 0, tzinfo=HELSINKI)
    for number in range(3):
        service.client.create_handoff(f"w-{number}", "neuvola", "", [])
    busy_again = (
        "Kukaan ei ehdi juuri nyt vastata chatissa, joten jätä viesti, niin ammattilainen ottaa sinuun "
        "yhteyttä, tai soita numeroon 015 211 8400."
    )
    events = [
        *_conversation()[:-1],
        {"event": "bot", "text": busy_again},
        user_event("/join_queue", "join_queue"),
    ]
    told_full = {**TEAM_SLOTS, "team_availability": "queue_full"}

    messages, _ = run(ActionJoinQueue(service.factory, service.clock), make_tracker(*events, slots=told_full))

    assert messages[0]["text"] == (
        "Neuvolan chat on auki, mutta jono on juuri nyt täynnä, joten et valitettavasti mahdu jonoon. "
        f"{NEUVOLA_ALTERNATIVES}"
    )


def test_join_when_the_service_is_down(tracker_for):
    messages, events = run(ActionJoinQueue(down), tracker_for("/join_queue", "join_queue", slots=TEAM_SLOTS))

    assert messages[0]["text"].startswith("En juuri nyt saa yhteyttä ammattilaisten chat-palveluun")
    assert events == [SlotSet("handoff_status", "unavailable")]


def test_decline_offers_the_alternatives(tracker_for):
    messages, events = run(
        ActionDeclineQueue(), tracker_for("/decline_queue", "decline_queue", slots=TEAM_SLOTS)
    )

    assert [(m["text"], m["buttons"]) for m in messages] == [
        (f"Selvä, et jää jonoon. {NEUVOLA_ALTERNATIVES}", FORM)
    ]
    assert events == []


def test_hours_of_a_closed_team(service, tracker_for):
    service.clock.now = datetime(2026, 3, 13, 18, 0, tzinfo=HELSINKI)
    tracker = tracker_for("milloin neuvolan chat on auki?", "ask_chat_hours")

    messages, _ = run(ActionChatHours(service.factory, service.clock), tracker)

    assert [m["text"] for m in messages] == [
        "Neuvolan chat on nyt suljettu. Se on auki seuraavan kerran maanantaina klo 12–14."
    ]


def test_hours_of_an_open_team_named_in_spoken_finnish(service, tracker_for):
    service.agent("hanna", "suun_terveydenhuolto")
    tracker = tracker_for("onko hammashoitolan chat auki nyt?", "ask_chat_hours")

    messages, _ = run(ActionChatHours(service.factory, service.clock), tracker)

    assert [m["text"] for m in messages] == ["Suun terveydenhuollon chat on auki nyt klo 14 asti."]


def test_hours_overview_without_a_team(service, tracker_for):
    tracker = tracker_for("milloin chat on auki", "ask_chat_hours")

    messages, _ = run(ActionChatHours(service.factory, service.clock), tracker)

    assert messages[0]["text"].startswith(
        "Nyt auki: Palveluneuvo (klo 15 asti), Vammaispalvelut (klo 15 asti)"
    )
    assert "Kätilöt (torstaina klo 12 alkaen)" in messages[0]["text"]
    assert messages[1]["response"] == "utter_chat_hours_page"
    assert messages[1]["custom"]["route"]["page"] == "chat_hours"


def test_hours_when_the_service_is_down_point_to_the_page(tracker_for):
    messages, _ = run(ActionChatHours(down), tracker_for("milloin neuvolan chat on auki?", "ask_chat_hours"))

    assert messages[0]["response"] == "utter_page_chat_hours"
    assert messages[0]["url"] == "https://etelasavonha.fi/chat"


def test_the_action_server_registers_every_domain_action():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")

    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))
    assert set(domain["actions"]) <= set(executor.actions)


def test_a_client_that_cannot_be_made_counts_as_the_service_being_down(tracker_for):
    def broken() -> Any:
        raise FileNotFoundError("var/handoff-api-token")

    tracker = tracker_for("lapsen rokotukset neuvolassa", "child_health_clinic")
    messages, events = run(ActionRoute(broken), tracker)
    assert messages[1]["text"].startswith("En juuri nyt saa yhteyttä ammattilaisten chat-palveluun")
    assert SlotSet("team_availability", "unavailable") in events
