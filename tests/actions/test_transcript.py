"""The handoff summary and transcript come from the tracker events, masked."""

from __future__ import annotations

from actions.routing import find_team
from actions.transcript import summary, transcript
from opastin.routes import default_routes

EVENTS = [
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "lapsen rokotukset, hetu 131052-308t", "timestamp": 0},
    {"event": "bot", "text": "Tässä asiassa sinua auttaa Neuvola.", "timestamp": 1.5},
    {"event": "user", "text": "/join_queue", "timestamp": 2},
    {"event": "user", "text": "kiitos", "timestamp": 3},
]


def test_summary_is_the_residents_own_words_masked():
    assert summary(EVENTS) == "lapsen rokotukset, hetu ******-**** / kiitos"


def test_summary_is_cut_to_the_service_limit():
    long = [{"event": "user", "text": "a" * 1500}]
    assert len(summary(long)) == 1000


def test_transcript_has_both_sides_with_times_and_no_payloads():
    assert transcript(EVENTS) == [
        {
            "sender": "resident",
            "text": "lapsen rokotukset, hetu ******-****",
            "timestamp": "1970-01-01T00:00:00+00:00",
        },
        {
            "sender": "bot",
            "text": "Tässä asiassa sinua auttaa Neuvola.",
            "timestamp": "1970-01-01T00:00:01.500000+00:00",
        },
        {"sender": "resident", "text": "kiitos", "timestamp": "1970-01-01T00:00:03+00:00"},
    ]


def test_find_team_by_the_longest_keyword():
    routes = default_routes()
    assert find_team("onko hammashoitolan chat auki nyt?", routes) == "suun_terveydenhuolto"
    assert find_team("milloin hammaslääkärin chat on auki", routes) == "suun_terveydenhuolto"
    assert find_team("milloin neuvolan chat on auki?", routes) == "neuvola"
    assert find_team("äitiysneuvolan chat", routes) == "katilot"
    assert find_team("terveysaseman chat", routes) == "terveysneuvo"
    assert find_team("milloin chat on auki", routes) is None
