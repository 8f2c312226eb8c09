"""The conversation runner's reading of a turn and its judgement against the author's label."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from devtools.conversations import closed_offers, judge, load_conversations, observe
from opastin.finnish_time import HELSINKI
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.teams import load_teams

TUESDAY_17 = datetime(2027, 1, 12, 17, 0, tzinfo=HELSINKI)
TUESDAY_13 = datetime(2027, 1, 12, 13, 0, tzinfo=HELSINKI)


def bot(text: str, route: dict[str, Any] | None = None, response: str = "", buttons=()) -> dict[str, Any]:
    data = {"custom": {"route": route} if route else {}, "buttons": list(buttons)}
    return {"event": "bot", "text": text, "data": data, "metadata": {"utter_action": response}}


def turn(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"event": "user", "text": "earlier"}, bot("old"), {"event": "user", "text": "now"}, *events]


def test_only_the_latest_turn_is_read():
    observed = observe(
        turn(bot("Tässä asiassa…", {"type": "team", "target": "neuvola"}, "utter_route_team")), None
    )
    assert observed.texts == ("Tässä asiassa…",)
    assert observed.routes == (("team", "neuvola"),)
    assert "utter_route_team" in observed.names


@pytest.mark.parametrize(
    ("route", "label"),
    [
        ({"type": "omaolo", "symptom": "cough"}, {"route": "omaolo", "target": "cough"}),
        ({"type": "webpage", "page": "booking"}, {"route": "webpage", "target": "booking"}),
        ({"type": "emergency", "target": "116117"}, {"emergency": "116117"}),
        ({"type": "answer", "target": "referral"}, {"answer": "referral"}),
        ({"type": "person", "target": "none_open"}, {"human": "none_open"}),
        ({"type": "team", "target": "neuvola"}, {"stay": "neuvola"}),
    ],
)  # fmt: skip
def test_routes_are_judged_by_their_ids(route, label):
    assert judge(label, observe(turn(bot("…", route)), None))


def test_a_safety_question_is_not_an_answered_emergency():
    observed = observe(turn(bot("Onko joku…", {"type": "emergency", "target": "confirm"})), None)
    assert not judge({"emergency": "112"}, observed)


def test_staying_fails_when_the_bot_asks_what_the_matter_is():
    events = turn(
        bot("…", {"type": "team", "target": "neuvola"}), bot("Kerro…", None, "utter_ask_how_can_help")
    )
    assert not judge({"stay": "neuvola"}, observe(events, None))


def test_form_steps_and_a_correction():
    form_on = {"event": "active_loop", "name": "contact_request_form"}
    consent = {"event": "slot", "name": "requested_slot", "value": "contact_consent"}
    asks = observe(turn(form_on, consent), None)
    assert judge({"form": "asks_consent"}, asks)
    assert not judge({"form": "corrected"}, asks)
    assert judge({"form": "corrected"}, asks, consent_asked_before=True)
    corrected = observe(turn(bot("Selvä, vaihdoin…", None, "utter_contact_corrected_team")), None)
    assert judge({"form": "corrected"}, corrected)


def test_a_closed_team_offered_is_found():
    catalogue = load_teams(DEFAULT_TEAMS_FILE)
    buttons = [{"title": "Keskustele: Neuvola", "payload": '/request_human{"team":"neuvola"}'}]
    observed = observe(
        turn(bot("Voit keskustella…", {"type": "person", "target": "offered"}, buttons=buttons)), None
    )
    assert closed_offers(observed, catalogue, TUESDAY_17, {}) == ["neuvola"]
    assert closed_offers(observed, catalogue, TUESDAY_13, {}) == []


def test_a_queue_offer_is_an_offer_of_the_routed_team():
    catalogue = load_teams(DEFAULT_TEAMS_FILE)
    events = turn(bot("…", {"type": "team", "target": "katilot"}), bot("Haluatko jonoon?", buttons=[
        {"title": "Kyllä, jonoon", "payload": "/join_queue"}]))  # fmt: skip
    assert closed_offers(observe(events, None), catalogue, TUESDAY_13, {}) == ["katilot"]


def test_a_set_file_is_read(tmp_path):
    path = tmp_path / "set.yml"
    path.write_text(
        'conversations:\n  - id: x01\n    clock: night\n    turns:\n      - user: "hei"\n'
        "        expect: {smalltalk: greet}\n",
        encoding="utf-8",
    )
    [conversation] = load_conversations(path)
    assert (conversation.id, conversation.clock, conversation.turns[0].expect) == (
        "x01",
        "night",
        {"smalltalk": "greet"},
    )


def test_the_routed_team_with_its_live_state_is_an_honest_person_offer():
    accepting = {"type": "team", "target": "neuvola", "open": True, "accepting": True}
    closed = {"type": "team", "target": "neuvola", "open": False, "accepting": False}
    assert judge({"human": "offered"}, observe(turn(bot("…", accepting)), None))
    assert not judge({"human": "none_open"}, observe(turn(bot("…", accepting)), None))
    assert judge({"human": "none_open"}, observe(turn(bot("…", closed)), None))
    assert not judge({"human": "offered"}, observe(turn(bot("…", closed)), None))
