"""The intent classifier in the Rasa pipeline: trained, stored in the model, read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_addons.intent_classifier import RANKING_LENGTH, LinearIntentClassifier

EXAMPLES = {
    "dental_care": ["hammas särkee", "hammaslääkäriaika", "paikka lähti hampaasta", "hampaat vihlovat"],
    "housing": ["vuokra on maksamatta", "häätö uhkaa", "asunto menee alta", "vuokrarästit kasvavat"],
    "greet": ["hei", "moi", "hyvää päivää", "terve"],
}
EXTRA = [f"intent_{number}" for number in range(RANKING_LENGTH)]


def training_data() -> TrainingData:
    examples = [
        Message(data={"text": text, "intent": intent}) for intent, texts in EXAMPLES.items() for text in texts
    ]
    examples += [Message(data={"text": f"sana{n} toinen{n}", "intent": name}) for n, name in enumerate(EXTRA)]
    examples += [Message(data={"text": "", "intent": "greet"}), Message(data={"text": "ilman aikomusta"})]
    return TrainingData(training_examples=examples)


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def test_the_trained_classifier_is_read_back_from_the_model(storage: LocalModelStorage) -> None:
    resource = Resource("intents")
    LinearIntentClassifier.create({}, storage, resource, context()).train(training_data())

    loaded = LinearIntentClassifier.load({}, storage, resource, context())
    message = Message(data={"text": "hammas on kipeä"})
    loaded.process([message])

    assert message.get("intent")["name"] == "dental_care"
    ranking = message.get("intent_ranking")
    assert len(ranking) == RANKING_LENGTH
    assert ranking[0] == message.get("intent")
    assert all(0.0 <= item["confidence"] <= 1.0 for item in ranking)
    assert "intent" in message.as_dict(only_output_properties=True)


def test_an_empty_message_gets_no_intent(storage: LocalModelStorage) -> None:
    resource = Resource("intents")
    classifier = LinearIntentClassifier.create({}, storage, resource, context())
    classifier.train(training_data())
    message = Message(data={"text": "   "})
    classifier.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
    assert message.get("intent_ranking") == []


def test_a_model_without_the_classifier_falls_back_with_a_warning(
    storage: LocalModelStorage, caplog: pytest.LogCaptureFixture
) -> None:
    classifier = LinearIntentClassifier.load({}, storage, Resource("never_trained"), context())
    message = Message(data={"text": "hammas"})
    classifier.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
    assert "no intent classifier" in caplog.text
