"""Emergency safety net: a rule check that overrides every NLU prediction.

Runs last in the NLU pipeline (after ``FallbackClassifier``). When the
editors' lexicon (``data/emergency_lexicon.yml``) matches a message, the
prediction becomes intent ``emergency`` with confidence 1.0 (also replacing
``nlu_fallback``), ``emergency`` goes first in ``intent_ranking`` and an
``emergency_level`` entity (``112``, ``crisis`` or ``116117``) tells the
dialogue which numbers to give. Detection therefore never depends on the
intent classifier alone.

The matching itself lives in :mod:`rasa_addons.emergency_rules`, which does
not import Rasa; ``detect_emergency`` and ``EmergencyMatch`` are re-exported
here. Measure it with ``python -m rasa_addons.emergency_rules --evaluate``
(``python -m rasa_addons.emergency --evaluate`` works too, but loads Rasa).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from rasa_addons.emergency_rules import (
    DEFAULT_LEXICON,
    LEVEL_112,
    LEVEL_116117,
    LEVEL_CRISIS,
    EmergencyMatch,
    EmergencyMatcher,
    LexiconError,
    detect_emergency,
    main,
)

__all__ = [
    "EMERGENCY_INTENT",
    "EMERGENCY_LEVEL_ENTITY",
    "LEVEL_112",
    "LEVEL_116117",
    "LEVEL_CRISIS",
    "EmergencyDetector",
    "EmergencyMatch",
    "LexiconError",
    "detect_emergency",
]

logger = logging.getLogger(__name__)

EMERGENCY_INTENT = "emergency"
FALLBACK_INTENT = "nlu_fallback"
EMERGENCY_LEVEL_ENTITY = "emergency_level"
# The key Rasa's own extractors (DIET, RegexEntityExtractor) use for entity confidence.
ENTITY_CONFIDENCE_KEY = "confidence_entity"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyDetector(GraphComponent, IntentClassifier):
    """Overrides the predicted intent with ``emergency`` when the lexicon matches."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config.

        ``lexicon``: path of the editors' lexicon (relative to the working
        directory or the project root). ``use_voikko``: look up base forms
        with libvoikko when it is installed. ``fallback_threshold``: the
        ``FallbackClassifier`` threshold, used when a classifier-only
        emergency guess is replaced by the next intent.
        """
        return {"lexicon": DEFAULT_LEXICON, "use_voikko": True, "fallback_threshold": 0.5}

    def __init__(self, config: dict[str, Any], matcher: EmergencyMatcher) -> None:
        """Keep the config and the compiled lexicon."""
        self.component_config = config
        self.matcher = matcher

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyDetector:
        """Load and validate the lexicon; a broken lexicon stops the server with a clear error."""
        matcher = EmergencyMatcher.from_file(config["lexicon"], use_voikko=config.get("use_voikko", True))
        logger.info(
            "Emergency safety net: %d rules from %s (Voikko %s)",
            matcher.rule_count,
            config["lexicon"],
            "on" if matcher.lemmatizer.available else "off",
        )
        return cls(config, matcher)

    def process(self, messages: list[Message]) -> list[Message]:
        """Mark every message that the lexicon recognises as an emergency; demote the classifier's guesses.

        The lexicon decides what is an emergency. The intent classifier alone
        called 10 of the 294 everyday messages in ``tests/emergency`` (e.g.
        "vauva ei herää yöllä syömään", "Vastaus tuli nopeasti") an emergency,
        so its ``emergency`` guess without a lexicon match gives way to the
        next intent; it stays in the ranking, where the actions see it and add
        a reminder of 112 to their answer.
        """
        for message in messages:
            found = self.matcher.detect(message.get(TEXT) or "")
            if found is not None:
                mark_emergency(message, found)
            elif (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == EMERGENCY_INTENT:
                demote_guess(message, self.component_config.get("fallback_threshold", 0.5))
        return messages


def demote_guess(message: Message, threshold: float) -> None:
    """Replace a classifier-only ``emergency`` intent by the best other intent, or ``nlu_fallback``.

    ``nlu_fallback`` (at ``threshold``, as ``FallbackClassifier`` sets it) is
    used when the best other intent is less confident than ``threshold``.
    """
    others = [
        item
        for item in message.data.get(INTENT_RANKING_KEY) or []
        if item.get(INTENT_NAME_KEY) not in (EMERGENCY_INTENT, FALLBACK_INTENT)
    ]
    best = others[0] if others else None
    if best is None or (best.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < threshold:
        message.data[INTENT] = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: threshold}
    else:
        message.data[INTENT] = dict(best)
    logger.info("Classifier-only emergency guess replaced by %s", message.data[INTENT][INTENT_NAME_KEY])


def mark_emergency(message: Message, found: EmergencyMatch) -> None:
    """Rewrite ``message``'s prediction to intent ``emergency`` at ``found.level``.

    Overrides any earlier intent (``nlu_fallback`` included), puts
    ``emergency`` first in the ranking and adds the ``emergency_level`` entity.
    Only the rule id is logged, never the resident's words.
    """
    text = message.get(TEXT) or ""
    intent = {INTENT_NAME_KEY: EMERGENCY_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.data[INTENT] = dict(intent)
    ranking = [
        item
        for item in message.data.get(INTENT_RANKING_KEY) or []
        if item.get(INTENT_NAME_KEY) != EMERGENCY_INTENT
    ]
    message.data[INTENT_RANKING_KEY] = [dict(intent), *ranking]
    entities = [
        entity
        for entity in message.data.get(ENTITIES) or []
        if entity.get(ENTITY_ATTRIBUTE_TYPE) != EMERGENCY_LEVEL_ENTITY
    ]
    entities.append(
        {
            ENTITY_ATTRIBUTE_TYPE: EMERGENCY_LEVEL_ENTITY,
            ENTITY_ATTRIBUTE_VALUE: found.level,
            ENTITY_ATTRIBUTE_START: 0,
            ENTITY_ATTRIBUTE_END: len(text),
            EXTRACTOR: EmergencyDetector.__name__,
            ENTITY_CONFIDENCE_KEY: 1.0,
        }
    )
    message.data[ENTITIES] = entities
    logger.info("Emergency rule %r matched: level %s (all levels: %s)", found.rule, found.level, found.levels)


if __name__ == "__main__":
    sys.exit(main())
