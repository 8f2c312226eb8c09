"""The response generator never sends a text of the bot's previous turn again."""

from __future__ import annotations

import asyncio

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_addons.no_repeat import NoRepeatGenerator, previous_turn_texts

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
responses:
  utter_greet:
    - text: "Hei! Kerro, missä voin auttaa."
  utter_greet_again:
    - text: "Hei taas!"
  utter_route_team:
    - text: "Tässä asiassa sinua {helps} {team_name}."
  utter_route_team_again:
    - text: "Tässäkin asiassa sinua {helps} {team_name}."
  utter_only_one:
    - text: "Ainoa."
"""
)


def tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("t", list(events), slots=DOMAIN.slots)


def generate(name: str, state: DialogueStateTracker, **values) -> str:
    rendered = asyncio.run(NoRepeatGenerator(domain=DOMAIN).generate(name, state, "rest", **values))
    return rendered["text"]


def test_a_first_reply_is_the_response_itself():
    assert generate("utter_greet", tracker(UserUttered("hei"))) == "Hei! Kerro, missä voin auttaa."


def test_a_text_of_the_previous_turn_gets_the_second_wording():
    state = tracker(UserUttered("hei"), BotUttered("Hei! Kerro, missä voin auttaa."), UserUttered("hei"))
    assert generate("utter_greet", state) == "Hei taas!"


def test_placeholders_are_compared_filled_in():
    said = "Tässä asiassa sinua auttaa Neuvola."
    state = tracker(UserUttered("a"), BotUttered(said), UserUttered("b"))
    assert generate("utter_route_team", state, helps="auttaa", team_name="Neuvola") == (
        "Tässäkin asiassa sinua auttaa Neuvola."
    )
    assert generate("utter_route_team", state, helps="auttaa", team_name="Kätilöt") == (
        "Tässä asiassa sinua auttaa Kätilöt."
    )


def test_an_older_turn_may_be_repeated():
    state = tracker(
        UserUttered("hei"), BotUttered("Hei! Kerro, missä voin auttaa."),
        UserUttered("x"), BotUttered("jotain"), UserUttered("hei"),
    )  # fmt: skip
    assert generate("utter_greet", state) == "Hei! Kerro, missä voin auttaa."


def test_without_another_wording_the_text_is_repeated_rather_than_nothing_said():
    state = tracker(UserUttered("a"), BotUttered("Ainoa."), UserUttered("b"))
    assert generate("utter_only_one", state) == "Ainoa."


def test_the_previous_turn_ends_at_the_resident_message_before_it():
    events = [UserUttered("a"), BotUttered("yksi"), UserUttered("b"), ActionExecuted("x"),
              BotUttered("kaksi"), UserUttered("c"), BotUttered("kolme")]  # fmt: skip
    assert previous_turn_texts(events) == {"kaksi"}
