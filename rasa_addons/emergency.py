"""Emergency safety net inside the NLU pipeline: overrides every other prediction.

Runs last in the NLU pipeline (after ``FallbackClassifier``) and applies
:class:`opastin.safety.net.SafetyNet` to each message:

* a certain match of the editors' lexicon (``data/emergency_lexicon.yml``):
  intent ``emergency`` with confidence 1.0 and an ``emergency_level`` entity
  (``112``, ``crisis``, ``116117`` or ``social``);
* a suspicion (the lexicon matched only tolerantly or in a sentence about the
  past or a question, or the learned detector fired, or the intent classifier
  alone guessed ``emergency``, nothing else is likely and the learned detector
  does not find the message clearly everyday): intent ``emergency`` with
  ``emergency_level`` ``confirm``
  and ``emergency_suspected`` naming the level; the dialogue asks one safety
  question first;
* "soitin jo 112": intent ``emergency_called`` (acknowledged, not repeated).

The learned detector is trained here, by ``rasa train``, from the emergency
examples of the NLU data, the lists named in the component's config and every
other intent's examples as everyday messages; it is stored in the model.
Detection never depends on the intent classifier alone.
"""

from __future__ import annotations

import logging
from pathlib import Path
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
    METADATA,
    METADATA_INTENT,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from opastin.safety.learned import FILE_NAME, LearnedDetector
from opastin.safety.lexicon import (
    DEFAULT_LEXICON,
    LEVEL_112,
    LEVEL_CRISIS,
    LEVEL_SOCIAL,
    EmergencyMatcher,
    read_emergency_list,
    read_message_list,
    resolve_lexicon_path,
)
from opastin.safety.net import (
    CLASSIFIER_FLOOR,
    CONFIRM,
    LAYER_CLASSIFIER,
    SafetyNet,
    SafetyVerdict,
    foreign_language,
    written_in_english_or_swedish,
)

logger = logging.getLogger(__name__)

EMERGENCY_INTENT = "emergency"
CALLED_INTENT = "emergency_called"
FALLBACK_INTENT = "nlu_fallback"
EMERGENCY_LEVEL_ENTITY = "emergency_level"
SUSPECTED_ENTITY = "emergency_suspected"
LANGUAGE_ENTITY = "language"
HELP_ENTITY = "emergency_help"
DENIED_ENTITY = "emergency_denied"
# On a message saying the emergency is over (the person found and well, the ambulance gone): its value.
RESOLVED_ENTITY = "emergency_resolved"
RESOLVED = "resolved"
# A suspicion's layer (lexicon, tolerant, learned, classifier): how sure the suspicion is.
LAYER_ENTITY = "emergency_layer"
# A suspicion's strength: firm (the lexicon's words, a learned probability of at least FIRM_LEARNED)
# or moderate (a weaker learned or classifier guess).
STRENGTH_ENTITY = "emergency_strength"
# The key Rasa's own extractors (DIET, RegexEntityExtractor) use for entity confidence.
ENTITY_CONFIDENCE_KEY = "confidence_entity"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class EmergencyDetector(GraphComponent, IntentClassifier):  # type: ignore[misc]  # Rasa ships no types
    """Overrides the predicted intent when the safety net sees danger (see the module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config.

        ``lexicon``: path of the editors' lexicon (relative to the working
        directory or the project root). ``use_voikko``: look up base forms
        with libvoikko when it is installed. ``fallback_threshold``: the
        ``FallbackClassifier`` threshold, used when a classifier-only
        emergency guess is replaced by the next intent. ``learned_threshold``:
        the learned detector's probability above which the safety question is
        asked. ``learned_emergencies`` / ``learned_everyday``: extra training
        lists (``level<TAB>message`` / one message per line).
        """
        return {
            "lexicon": DEFAULT_LEXICON,
            "use_voikko": True,
            "fallback_threshold": 0.5,
            "learned_threshold": 0.5,
            "learned_emergencies": [],
            "learned_everyday": [],
        }

    def __init__(
        self,
        config: dict[str, Any],
        net: SafetyNet,
        model_storage: ModelStorage | None = None,
        resource: Resource | None = None,
    ) -> None:
        """Keep the config, the safety net and where the learned detector is stored."""
        self.component_config = config
        self.net = net
        self.matcher = net.matcher
        self._model_storage = model_storage
        self._resource = resource

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
        return cls(config, SafetyNet(matcher), model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmergencyDetector:
        """The lexicon from its file, the learned detector from the model."""
        detector = cls.create(config, model_storage, resource, execution_context)
        try:
            with model_storage.read_from(resource) as directory:
                detector.net.learned = LearnedDetector.load(directory / FILE_NAME)
        except (ValueError, FileNotFoundError):
            logger.warning("The model has no learned emergency detector; the lexicon alone is used")
        return detector

    def train(self, training_data: TrainingData) -> Resource:
        """Train the learned detector on the NLU examples and the configured lists; store it."""
        emergencies, everyday = self._training_lists(training_data)
        learned = LearnedDetector.train(
            emergencies, everyday, threshold=self.component_config.get("learned_threshold", 0.5)
        )
        logger.info(
            "Learned emergency detector: %d emergencies, %d everyday", len(emergencies), len(everyday)
        )
        self.net.learned = learned
        if self._model_storage is not None and self._resource is not None:
            with self._model_storage.write_to(self._resource) as directory:
                learned.save(Path(directory) / FILE_NAME)
        return self._resource

    def _training_lists(self, training_data: TrainingData) -> tuple[list[tuple[str, str]], list[str]]:
        emergencies: list[tuple[str, str]] = []
        everyday: list[str] = []
        for example in training_data.intent_examples:
            text = example.get(TEXT) or ""
            if not for_learned_detector(example):
                continue
            if example.get(INTENT) == EMERGENCY_INTENT:
                found = self.matcher.detect(text, tolerant=True)
                emergencies.append((found.level if found else LEVEL_112, text))
            elif example.get(INTENT) != CALLED_INTENT:
                everyday.append(text)
        for path in self.component_config.get("learned_emergencies") or []:
            emergencies.extend(read_emergency_list(resolve_lexicon_path(path)))
        for path in self.component_config.get("learned_everyday") or []:
            everyday.extend(read_message_list(resolve_lexicon_path(path)))
        return emergencies, everyday

    def process(self, messages: list[Message]) -> list[Message]:
        """Apply the safety net to each message (see the module docstring)."""
        threshold = self.component_config.get("fallback_threshold", 0.5)
        for message in messages:
            text = message.get(TEXT) or ""
            resolved = self.net.situation_resolved(text)
            if resolved or self.net.already_called(text):
                set_intent(message, CALLED_INTENT)
                if resolved:  # "se löyty, nyt se on kotona": the emergency is over, not only called
                    set_safety_entities(message, {RESOLVED_ENTITY: RESOLVED})
                if written_in_english_or_swedish(text):  # "ambulansen är på väg": answered in Swedish
                    set_safety_entities(message, {LANGUAGE_ENTITY: foreign_language(text)})
                mark_further_need(message, self.net.check(text))
                continue
            verdict = self.net.check(text)
            denied = self.net.denied_level(text) if verdict is None else None
            if denied is not None:  # "en mä oo tekemässä itelleni mitään": read on after a crisis answer
                set_safety_entities(message, {DENIED_ENTITY: denied})
            if verdict is not None:
                mark_emergency(message, verdict)
            elif (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == EMERGENCY_INTENT:
                demote_guess(message, threshold)
                fell_back = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == FALLBACK_INTENT
                if fell_back and self.net.worth_asking(text, CLASSIFIER_FLOOR):
                    # Only the classifier saw danger, nothing else is likely: ask, never "not understood".
                    mark_emergency(message, SafetyVerdict(LEVEL_112, False, LAYER_CLASSIFIER))
        return messages


# Needs that a call to 112 does not meet: the social emergency service, the crisis line.
NOT_MET_BY_THE_CALL = (LEVEL_SOCIAL, LEVEL_CRISIS)


def mark_further_need(message: Message, verdict: SafetyVerdict | None) -> None:
    """On a message saying help was called, an ``emergency_level`` entity for a certain social or
    crisis match beside it ("ambulanssi tulee, mut pappa on muistisairas eikä voi jäädä yksin"):
    the acknowledgement is followed by that guidance."""
    if verdict is None or not verdict.certain or verdict.level not in NOT_MET_BY_THE_CALL:
        return
    values = {EMERGENCY_LEVEL_ENTITY: verdict.level, **({HELP_ENTITY: verdict.help} if verdict.help else {})}
    set_safety_entities(message, values)
    logger.info(
        "Safety net: help already called, and a %s need beside it (rule %r)", verdict.level, verdict.rule
    )


def for_learned_detector(example: Message) -> bool:
    """Whether an NLU example trains the learned detector: not when its intent's block says
    ``metadata: {learned_detector: false}`` (the intent classifier still learns from it)."""
    metadata = (example.get(METADATA) or {}).get(METADATA_INTENT) or {}
    return metadata.get("learned_detector", True) is not False


def set_intent(message: Message, intent_name: str) -> None:
    """Make ``intent_name`` the prediction with confidence 1.0, first in the ranking."""
    intent = {INTENT_NAME_KEY: intent_name, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.data[INTENT] = dict(intent)
    ranking = [
        item
        for item in message.data.get(INTENT_RANKING_KEY) or []
        if item.get(INTENT_NAME_KEY) != intent_name
    ]
    message.data[INTENT_RANKING_KEY] = [dict(intent), *ranking]


def demote_guess(message: Message, threshold: float) -> None:
    """Replace a classifier-only ``emergency`` intent by the best other intent, or ``nlu_fallback``.

    With ``emergency`` ruled out, the other intents' confidences are read as
    shares of what is left (a message the classifier found 50 % emergency and
    40 % older people's services is 80 % the latter once the safety net has
    found no emergency). ``nlu_fallback`` (at ``threshold``, as
    ``FallbackClassifier`` sets it) is used when the best other intent is still
    less confident than ``threshold``.
    """
    ranking = message.data.get(INTENT_RANKING_KEY) or []
    ruled_out = sum(
        item.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        for item in ranking
        if item.get(INTENT_NAME_KEY) == EMERGENCY_INTENT
    )
    others = [
        item for item in ranking if item.get(INTENT_NAME_KEY) not in (EMERGENCY_INTENT, FALLBACK_INTENT)
    ]
    best = dict(others[0]) if others else None
    if best is not None and ruled_out < 1.0:
        share = (best.get(PREDICTED_CONFIDENCE_KEY) or 0.0) / (1.0 - ruled_out)
        best[PREDICTED_CONFIDENCE_KEY] = min(1.0, share)
    if best is None or (best.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < threshold:
        message.data[INTENT] = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: threshold}
    else:
        message.data[INTENT] = best


def set_safety_entities(message: Message, values: dict[str, str]) -> None:
    """Put the safety net's ``values`` on ``message`` as entities spanning its text, replacing
    entities of the same types."""
    text = message.get(TEXT) or ""
    kept = [
        entity
        for entity in message.data.get(ENTITIES) or []
        if entity.get(ENTITY_ATTRIBUTE_TYPE) not in values
    ]
    message.data[ENTITIES] = [
        *kept,
        *(
            {
                ENTITY_ATTRIBUTE_TYPE: entity_type,
                ENTITY_ATTRIBUTE_VALUE: value,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                EXTRACTOR: EmergencyDetector.__name__,
                ENTITY_CONFIDENCE_KEY: 1.0,
            }
            for entity_type, value in values.items()
        ),
    ]


def mark_emergency(message: Message, verdict: SafetyVerdict) -> None:
    """Rewrite ``message``'s prediction to intent ``emergency`` with the verdict as entities.

    Overrides any earlier intent (``nlu_fallback`` included) and puts
    ``emergency`` first in the ranking. Entities: ``emergency_level`` (the
    level, or ``confirm`` for a suspicion), ``emergency_suspected`` and
    ``emergency_layer`` (a suspicion's level and layer), ``emergency_strength``
    (``firm`` or ``moderate``, see :attr:`SafetyVerdict.firm`), ``language``
    (``en``/``sv`` when the message was in English or Swedish) and
    ``emergency_help`` (further help the answer names, e.g. ``violence``).
    Only rule ids and layers are logged, never words.
    """
    set_intent(message, EMERGENCY_INTENT)
    values = {EMERGENCY_LEVEL_ENTITY: verdict.target}
    if not verdict.certain:
        values[SUSPECTED_ENTITY] = verdict.level
        values[LAYER_ENTITY] = verdict.layer
        values[STRENGTH_ENTITY] = "firm" if verdict.firm else "moderate"
    if verdict.language != "fi":
        values[LANGUAGE_ENTITY] = verdict.language
    if verdict.help:
        values[HELP_ENTITY] = verdict.help
    set_safety_entities(message, values)
    logger.info(
        "Safety net: %s layer, rule %r, level %s, %s",
        verdict.layer,
        verdict.rule,
        verdict.level,
        "certain" if verdict.certain else CONFIRM,
    )
