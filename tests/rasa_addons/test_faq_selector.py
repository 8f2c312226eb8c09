"""The ResponseSelector is asked only about messages classified as its retrieval intent."""

from __future__ import annotations

import pytest
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.training_data.message import Message

from rasa_addons.faq_selector import FaqResponseSelector


def classified(text: str, intent: str | None) -> Message:
    message = Message(data={"text": text})
    if intent is not None:
        message.set("intent", {"name": intent, "confidence": 0.9})
    return message


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts Rasa's own ResponseSelector was given."""
    texts: list[str] = []

    def select(self: ResponseSelector, messages: list[Message]) -> list[Message]:
        texts.extend(message.get("text") for message in messages)
        for message in messages:
            message.set("response_selector", {"faq": {"response": {"intent_response_key": "faq/x"}}})
        return messages

    monkeypatch.setattr(ResponseSelector, "process", select)
    return texts


def selector(retrieval_intent: str | None) -> FaqResponseSelector:
    component = FaqResponseSelector.__new__(FaqResponseSelector)  # no model: process is what is tested
    component.retrieval_intent = retrieval_intent
    return component


def test_only_messages_of_the_retrieval_intent_are_selected_for(asked: list[str]) -> None:
    messages = [
        classified("miten uusin reseptin", "faq"),
        classified("lapsella on kuumetta", "child_health"),
        classified("?", None),
    ]

    returned = selector("faq").process(messages)

    assert returned == messages
    assert asked == ["miten uusin reseptin"]
    assert messages[0].get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/x"
    assert messages[1].get("response_selector") is None


def test_without_a_retrieval_intent_every_message_is_selected_for(asked: list[str]) -> None:
    selector(None).process([classified("a", "faq"), classified("b", "greet")])
    assert asked == ["a", "b"]
