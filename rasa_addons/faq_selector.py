"""Which short factual answer a question of the retrieval intent ``faq`` gets.

The same linear model as the intent classifier (:mod:`opastin.intents`),
trained on the examples of ``faq/<topic>`` with the topics as classes, in
place of Rasa's ResponseSelector (a neural network of its own over count
features that every message paid for). It answers only for messages
classified ``faq``, and sets ``response_selector`` as Rasa's own selector
does, for ``action_answer`` (actions/actions_conversation.py).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from opastin.intents import IntentModel
from rasa_addons.stored_intent_model import StoredIntentModel

logger = logging.getLogger(__name__)

RANKING_LENGTH = 10


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqTopicSelector(StoredIntentModel, IntentClassifier):  # type: ignore[misc]  # Rasa ships no types
    """Chooses the answer topic of messages classified as the retrieval intent.

    Configured in ``config.yml`` after the intent classifier::

        - name: rasa_addons.faq_selector.FaqTopicSelector
          retrieval_intent: faq
    """

    file_name = "faq_topics.zip"
    missing = "The model has no answer topics; no short answer is given"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """``retrieval_intent``: the intent whose messages get a topic."""
        return {"retrieval_intent": "faq"}

    def __init__(self, config: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        """The retrieval intent from the config; the rest as :class:`StoredIntentModel` keeps it."""
        super().__init__(config, *args, **kwargs)
        self.retrieval_intent = str(config.get("retrieval_intent") or "faq")

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on the retrieval intent's examples, labelled with their ``<intent>/<topic>``."""
        examples = [
            example
            for example in training_data.intent_examples
            if example.get(INTENT) == self.retrieval_intent
            and example.get(TEXT)
            and example.get(INTENT_RESPONSE_KEY)
        ]
        if len({example.get(INTENT_RESPONSE_KEY) for example in examples}) < 2:
            logger.warning("Fewer than two answer topics of %s: nothing to choose", self.retrieval_intent)
            return self._resource
        model = IntentModel.train(
            [example.get(TEXT) for example in examples],
            [example.get(INTENT_RESPONSE_KEY) for example in examples],
        )
        logger.info("Answer topics: %d examples of %d topics", len(examples), len(model.intents))
        return self.keep(model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Choose a topic for each message classified as the retrieval intent; leave the others."""
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if self.model is None or intent != self.retrieval_intent:
                continue
            ranking = self.model.ranking(message.get(TEXT) or "")[:RANKING_LENGTH]
            key, confidence = ranking[0]
            selected = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
            selected[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [self.retrieval_intent]
            selected[self.retrieval_intent] = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    RESPONSE_SELECTOR_RESPONSES_KEY: [],
                    PREDICTED_CONFIDENCE_KEY: confidence,
                    INTENT_RESPONSE_KEY: key,
                    RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"utter_{key}",
                },
                RESPONSE_SELECTOR_RANKING_KEY: [
                    {PREDICTED_CONFIDENCE_KEY: p, INTENT_RESPONSE_KEY: k} for k, p in ranking
                ],
            }
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selected, add_to_output=True)
        return messages
