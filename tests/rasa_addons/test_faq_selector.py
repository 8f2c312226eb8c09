"""The answer topic of a question classified as the retrieval intent, stored in the model."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_addons.faq_selector import FaqTopicSelector

TOPICS = {
    "faq/omakanta_prescription": [
        "miten uusin reseptin omakannassa",
        "reseptin uusiminen netissä",
        "voiko reseptin uusia omakannasta",
        "uusin lääkereseptin",
    ],
    "faq/cancel_appointment": [
        "miten peruun ajan",
        "haluan perua vastaanottoajan",
        "ajan peruminen",
        "voinko siirtää aikaa",
    ],
}


def training_data() -> TrainingData:
    examples = [
        Message(data={"text": text, "intent": "faq", "intent_response_key": key})
        for key, texts in TOPICS.items()
        for text in texts
    ]
    examples += [Message(data={"text": "hammas särkee", "intent": "dental_care"})]
    return TrainingData(training_examples=examples)


def classified(text: str, intent: str | None) -> Message:
    message = Message(data={"text": text})
    if intent is not None:
        message.set("intent", {"name": intent, "confidence": 0.95})
    return message


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def test_a_question_classified_faq_gets_its_topic_as_rasas_selector_sets_it(
    storage: LocalModelStorage,
) -> None:
    resource = Resource("faq")
    FaqTopicSelector.create({}, storage, resource, context()).train(training_data())
    selector = FaqTopicSelector.load({"retrieval_intent": "faq"}, storage, resource, context())

    asked, other, unclassified = (
        classified("pitäis perua huominen aika", "faq"),
        classified("miten peruun ajan", "dental_care"),
        classified("?", None),
    )
    assert selector.process([asked, other, unclassified]) == [asked, other, unclassified]

    selected = asked.get("response_selector")
    assert selected["all_retrieval_intents"] == ["faq"]
    response = selected["faq"]["response"]
    assert response["intent_response_key"] == "faq/cancel_appointment"
    assert response["utter_action"] == "utter_faq/cancel_appointment"
    assert 0.5 < response["confidence"] <= 1.0
    assert [item["intent_response_key"] for item in selected["faq"]["ranking"]][0] == "faq/cancel_appointment"
    assert "response_selector" in asked.as_dict(only_output_properties=True)
    assert other.get("response_selector") is None and unclassified.get("response_selector") is None


def test_without_topics_nothing_is_selected(
    storage: LocalModelStorage, caplog: pytest.LogCaptureFixture
) -> None:
    resource = Resource("faq")
    selector = FaqTopicSelector.create({}, storage, resource, context())
    selector.train(TrainingData(training_examples=[Message(data={"text": "hei", "intent": "greet"})]))
    message = classified("miten peruun ajan", "faq")
    selector.process([message])
    assert message.get("response_selector") is None
    assert "nothing to choose" in caplog.text
    assert FaqTopicSelector.load({}, storage, resource, context()).model is None
