"""The conversation's current need, read from the bot's route payloads."""

from __future__ import annotations

from typing import Any

import pytest

from actions.context import (
    form_ended_this_turn,
    need_of,
    previous_need,
    refers_back,
    repeats_previous,
    turn_routes,
)
from opastin.routes import default_routes


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {}}


def bot(route: dict[str, Any] | None = None, text: str = "…") -> dict[str, Any]:
    return {"event": "bot", "text": text, "data": {"custom": {"route": route} if route else {}}}


TEAM = {"type": "team", "target": "palveluneuvo", "label": "Palveluneuvo", "open": True}
ANSWER = {"type": "answer", "target": "omakanta_prescription"}
OMAOLO = {"type": "omaolo", "target": "https://www.omaolo.fi/x", "symptom": "cough", "label": "yskä"}


def test_the_previous_turn_is_the_one_before_the_latest_message():
    events = [user("a"), bot(OMAOLO), user("b"), bot(TEAM), bot(), user("c")]
    assert turn_routes(events) == [TEAM]
    assert turn_routes(events, turns_back=2) == [OMAOLO]
    assert previous_need(events).target == "palveluneuvo"


def test_an_answer_is_the_need_even_when_its_team_is_offered_after_it():
    need = need_of([ANSWER, TEAM])
    assert (need.type, need.target) == ("answer", "omakanta_prescription")


def test_omaolo_and_pages_are_named_by_their_id_not_their_address():
    assert need_of([OMAOLO]).target == "cough"
    assert need_of([{"type": "webpage", "target": "https://x.fi/a", "page": "booking"}]).target == "booking"


def test_emergencies_and_forms_are_no_need_to_stay_with():
    assert (
        need_of([{"type": "emergency", "target": "112"}, {"type": "form", "target": "contact_request"}])
        is None
    )


def test_a_route_of_the_previous_turn_is_a_repeat():
    events = [user("a"), bot(TEAM), user("b")]
    assert repeats_previous(events, "team", "palveluneuvo")
    assert not repeats_previous(events, "team", "neuvola")
    assert not repeats_previous([user("a")], "team", "palveluneuvo")


@pytest.mark.parametrize(
    ("text", "back"),
    [("entä jos hän tarvii vaan kauppa-apua", True), ("se ei oikein suostu juomaan", True),
     ("Tästä laskusta vielä", True), ("mun hammasta särkee", False), ("tarviin kotihoitoa isälle", False)],
)  # fmt: skip
def test_a_message_that_points_back(text, back):
    assert refers_back(text, default_routes()) is back


def test_a_form_ended_after_the_latest_message_is_seen_once():
    ended = {"event": "active_loop", "name": None}
    started = {"event": "active_loop", "name": "contact_request_form"}
    assert form_ended_this_turn([user("a"), started, user("b"), ended])
    assert not form_ended_this_turn([user("a"), ended, user("b")])
    assert not form_ended_this_turn([user("a"), started])
