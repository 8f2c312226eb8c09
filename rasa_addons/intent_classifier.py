"""Opastin's intent classifier in the Rasa pipeline (:mod:`opastin.intents`), in place of DIET.

It reads the message's text itself (folded, with Voikko's base forms), so it
needs no tokenizer or featurizer before it; it sets the intent and a ranking
of the ten most likely intents with probabilities, as DIET does, for the
``FallbackClassifier`` and the safety net after it. ``rasa train`` fits it in
seconds and stores it in the model as plain data (no pickle).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from opastin.intents import FILE_NAME, IntentModel
from rasa_addons.stored_intent_model import StoredIntentModel

logger = logging.getLogger(__name__)

RANKING_LENGTH = 10  # as Rasa's own classifiers


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(StoredIntentModel, IntentClassifier):  # type: ignore[misc]  # Rasa ships no types
    """Predicts the intent of each message with :class:`opastin.intents.IntentModel`."""

    file_name = FILE_NAME
    missing = "The model has no intent classifier; every message falls back"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options: the features and the model are fixed in :mod:`opastin.intents`."""
        return {}

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on every example that has an intent and store the model."""
        examples = [example for example in training_data.intent_examples if example.get(TEXT)]
        texts = [example.get(TEXT) for example in examples]
        labels = [example.get(INTENT) for example in examples]
        model = IntentModel.train(texts, labels)
        logger.info(
            "Intent classifier: %d examples of %d intents, temperature %.2f",
            len(texts),
            len(set(labels)),
            model.temperature,
        )
        return self.keep(model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Set each message's intent and the ranking of the most likely intents (no intent, with
        confidence 0, for an empty message or without a model: the fallback then answers)."""
        for message in messages:
            text = message.get(TEXT) or ""
            ranking = [
                {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: probability}
                for intent, probability in (self.model.ranking(text) if self.model and text.strip() else [])
            ][:RANKING_LENGTH]
            best = ranking[0] if ranking else {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
            message.set(INTENT, dict(best), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
