"""Schema check of the held-out message sets (tests/heldout/*.yml).

The sets measure intent and route accuracy of the trained model; they are
never used for training. This test guards their format and coverage, and that
no held-out message has found its way into the training data.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

HELDOUT_DIR = Path(__file__).parent
HELDOUT_SETS = sorted(HELDOUT_DIR.glob("*.yml"))
TRAINING_DATA = HELDOUT_DIR.parent.parent / "data" / "nlu"
COPIED_MIN_WORDS = 6

TEAM_INTENTS = {
    "elderly_services": "palveluneuvo",
    "caregiver_support": "palveluneuvo",
    "disability_services": "vammaispalvelut",
    "child_health_clinic": "neuvola",
    "pregnancy": "katilot",
    "health_centre_appointment": "terveysneuvo",
    "prescription_renewal": "terveysneuvo",
    "lab_results": "terveysneuvo",
    "sick_note": "terveysneuvo",
    "income_support": "tyoikaisten_sosiaalityo",
    "housing": "tyoikaisten_sosiaalityo",
    "debt_advice": "tyoikaisten_sosiaalityo",
    "dental_care": "suun_terveydenhuolto",
    "mental_health": "mielenterveys_paihde",
    "substance_use": "mielenterveys_paihde",
    "family_support": "perhekeskus",
    "physiotherapy": "fysioterapia",
}
FIXED_ROUTES = {
    "ask_client_fees": "webpage:client_fees",
    "ask_how_to_book": "webpage:booking",
    "ask_contact_info": "webpage:contact_info",
    "ask_chat_hours": "webpage:chat_hours",
    "contact_request": "form:contact_request",
}
NO_ROUTE_INTENTS = {
    "greet", "goodbye", "thank", "ask_capabilities", "out_of_scope",
    "chitchat", "request_human", "affirm", "deny",
}  # fmt: skip
SYMPTOMS = {
    "respiratory_infection", "cough", "sore_throat", "ear_pain", "urinary_tract_infection",
    "back_pain", "shoulder", "knee", "headache", "diarrhoea", "heartburn", "eye",
    "anal_symptoms", "sexually_transmitted_infection", "rash", "general",
}  # fmt: skip
EMERGENCY_LEVELS = {"112", "116117", "crisis", "social"}
INTENTS = set(TEAM_INTENTS) | set(FIXED_ROUTES) | NO_ROUTE_INTENTS | {"report_symptom", "emergency"}
ROUTE = re.compile(r"^(none|(team|omaolo|webpage|form|emergency):[a-z0-9_]+)$")


def expected_route_ok(intent: str, route: str) -> bool:
    """Whether ``route`` is the route the lead fixed for ``intent``."""
    kind, _, target = route.partition(":")
    if intent in TEAM_INTENTS:
        return route == f"team:{TEAM_INTENTS[intent]}"
    if intent in FIXED_ROUTES:
        return route == FIXED_ROUTES[intent]
    if intent in NO_ROUTE_INTENTS:
        return route == "none"
    if intent == "report_symptom":  # a child under 15 goes to the health centre team
        return (kind == "omaolo" and target in SYMPTOMS) or route == "team:terveysneuvo"
    if intent == "emergency":
        return kind == "emergency" and target in EMERGENCY_LEVELS
    return False


def normalised(text: str) -> str:
    """Lower case, single spaces: how two messages are compared."""
    return " ".join(text.lower().split())


@pytest.fixture(scope="module", params=HELDOUT_SETS, ids=lambda path: path.name)
def messages(request: pytest.FixtureRequest) -> list[dict]:
    data = yaml.safe_load(request.param.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and set(data) == {"messages"}, "top level must be {messages: [...]}"
    assert isinstance(data["messages"], list)
    return data["messages"]


def test_every_item_has_text_intent_and_route(messages: list[dict]) -> None:
    for number, item in enumerate(messages):
        assert isinstance(item, dict) and set(item) == {"text", "intent", "route"}, (number, item)
        for key in ("text", "intent", "route"):
            assert isinstance(item[key], str) and item[key].strip(), (number, key, item)


def test_intents_and_routes_are_valid(messages: list[dict]) -> None:
    bad = [item for item in messages if item["intent"] not in INTENTS or not ROUTE.match(item["route"])]
    assert not bad, bad
    wrong = [item for item in messages if not expected_route_ok(item["intent"], item["route"])]
    assert not wrong, wrong


def test_size_and_no_duplicates(messages: list[dict]) -> None:
    assert len(messages) >= 150
    counts = Counter(normalised(item["text"]) for item in messages)
    duplicates = [text for text, count in counts.items() if count > 1]
    assert not duplicates, duplicates


def test_distribution(messages: list[dict]) -> None:
    intents = Counter(item["intent"] for item in messages)
    for intent in [*TEAM_INTENTS, *FIXED_ROUTES]:
        assert intents[intent] >= 4, (intent, intents[intent])
    assert intents["report_symptom"] >= 25
    symptoms = {
        item["route"].split(":")[1]
        for item in messages
        if item["intent"] == "report_symptom" and item["route"].startswith("omaolo:")
    }
    assert symptoms <= SYMPTOMS and len(symptoms) >= 12, (symptoms - SYMPTOMS, SYMPTOMS - symptoms)
    assert intents["emergency"] >= 8
    levels = {item["route"] for item in messages if item["intent"] == "emergency"}
    assert {"emergency:112", "emergency:116117", "emergency:crisis"} <= levels <= {
        f"emergency:{level}" for level in EMERGENCY_LEVELS
    }
    assert sum(intents[intent] for intent in NO_ROUTE_INTENTS) >= 15


def test_no_long_message_is_in_the_training_data(messages: list[dict]) -> None:
    """Short messages ("hei", "kotihoito") are written by everyone; a long one found in both was copied."""
    training = {
        normalised(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip()[2:]))
        for path in TRAINING_DATA.glob("*.yml")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("- ")
    }
    leaked = [
        item["text"]
        for item in messages
        if len(item["text"].split()) >= COPIED_MIN_WORDS and normalised(item["text"]) in training
    ]
    assert not leaked, leaked


def test_there_are_several_independent_sets() -> None:
    assert len(HELDOUT_SETS) >= 2
