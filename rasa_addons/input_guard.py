"""Catch messages the intent classifier cannot judge: no words, random letters, English or Swedish.

:class:`InputGuard` runs in the NLU pipeline after the classifiers (and before
the emergency detector, which must stay last). When a message has no letters
(empty, emoji only, punctuation, HTML tags only) or only random-looking letters
it sets the intent ``unclear_input``; when it is written in English or Swedish
it sets ``other_language``. Both get a Finnish answer from the dialogue rules. A short
message that takes leave ("kiitti, moi", "hyvää yötä") is a ``goodbye``, which the
classifier alone reads as thanks or a greeting.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from opastin.finnish_text import Lemmatizer, normalise

UNCLEAR_INPUT = "unclear_input"
OTHER_LANGUAGE = "other_language"
GOODBYE = "goodbye"
# Leave-taking that the classifier reads as thanks or a greeting ("kiitti, moi", "hyvää yötä").
_FAREWELL_PHRASES = ("hyvaa yota", "hyvaa illanjatkoa", "hyvaa paivanjatkoa", "hyvaa jatkoa",
                     "hyvaa viikonloppua", "nahdaan", "kuulemiin", "nakemiin")  # fmt: skip
# "Heippa" and "moi" greet as well: they take leave at the end of a longer message.
_FAREWELL_ENDINGS = ("hei hei", "moi moi", "moikka moikka", "heippa", "heipat", "bye", "oita", "tsau",
                     "hej da", "hejda")  # fmt: skip
_THANKS = ("kiito", "kiitti", "kiits", "kiitokset")
_BYE_AFTER_THANKS = frozenset({"moi", "moikka", "hei", "heippa", "moro", "morjens"})
# Words that may stand beside thanks and leave-taking ("hei ja kiitos paljon").
_THANKS_FILLERS = frozenset({"ja", "paljon", "sulle", "teille", "vaan", "vain", "hyva", "tosi"})
MAX_FAREWELL_WORDS = 10
GREET = "greet"
THANK = "thank"
_GREETINGS = frozenset({"moi", "hei", "moikka", "terve", "moro", "morjens", "paivaa", "huomenta", "iltaa",
                        "moikkelis", "heissan"})  # fmt: skip
# "ok soitan sinne, kiitos": a short message that acknowledges and thanks closes the matter.
_ACKNOWLEDGEMENTS = frozenset(
    {
        "ok",
        "okei",
        "okey",
        "selva",
        "hyva",
        "soitan",
        "soitin",
        "ymmarran",
        "jep",
        "jees",
        "aha",
        "kiva",
        "hienoa",
        "mahtavaa",
    }
)
MAX_THANKS_WORDS = 6
# "kiitos, mä soitan sinne": what the resident will do next, after thanks.
_OWN_NEXT_STEP = frozenset({"soitan", "kokeilen", "kokeillaan", "katson", "katsotaan", "tutkin", "menen"})
# "no okei, moi", "joo, heippa": an acknowledgement before a bye-word takes leave.
_FAREWELL_OPENERS = _ACKNOWLEDGEMENTS | {"no", "joo", "juu", "niin", "jaa", "okei"}
# Small talk is what a long message opens or ends with, not what it is about.
SMALL_TALK = frozenset({GREET, GOODBYE, THANK})
MAX_SMALL_TALK_WORDS = 8

_TAG = re.compile(r"<[^>]{0,200}>")
_WORD = re.compile(r"[^\W\d_]+")
_VOWELS = set("aeiouyäöå")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxzšž]{4,}")
_REPEAT = re.compile(r"(.)\1{3,}")
_KEYBOARD = (
    "qwer",
    "wert",
    "asdf",
    "sdfg",
    "dfgh",
    "fghj",
    "ghjk",
    "hjkl",
    "zxcv",
    "xcvb",
    "cvbn",
    "vbnm",
    "jklö",
    "klöä",
    "uiop",
    "yuio",
    "tyui",
)

FINNISH_WORDS = frozenset(
    """
    on ja ei en et oo ole olen olet oli onko onks onkos ko kun jos että etta mä ma mää mulla mulle mun
    minä mina minun minulla minulle sä sulla sun sinä sinun hän se sen ne me meillä te voi voin voisin
    voinko voiko saa saan saako saisin pitää pitäis pitäisi tarvitsen tarttisin tarvii haluan haluaisin
    kuinka miten missä mitä mikä milloin koska hei moi kiitos kiitti apua joo kyllä niin myös vai tai
    mutta nyt vielä tää tämä tänään
    """.split()
)
ENGLISH_WORDS = (
    frozenset(
        """
    the is are am i my you your and to of in with for can could would need help please what how where when do
    does have has this that it want speak english hello hi doctor appointment dentist there not be will get an
    about from our we his her she they thanks thank nurse sick pain
    """.split()
    )
    - FINNISH_WORDS
)
SWEDISH_WORDS = (
    frozenset(
        """
    jag och är att det ett har behöver hjälp inte vill med på för hur tala talar svenska hej tack mitt mina du
    vi till om den som var kan läkare tid boka barn hälsocentral tandläkare ont mår dig mig min
    """.split()
    )
    - FINNISH_WORDS
)
# Single words that on their own already say "not Finnish".
FOREIGN_GREETINGS = frozenset({"hello", "hi", "please", "english", "thanks", "svenska", "hej", "tack"})


def strip_markup(text: str) -> str:
    """``text`` without HTML/XML tags."""
    return _TAG.sub(" ", text)


def words(text: str) -> list[str]:
    """The lower-case words (letters only) of ``text``."""
    return [w.lower() for w in _WORD.findall(text)]


def looks_random(word: str) -> bool:
    """Whether a word looks like keyboard mashing rather than (even misspelt) language."""
    if len(word) < 4:
        return False
    if _REPEAT.search(word) or any(row in word for row in _KEYBOARD) or _CONSONANT_RUN.search(word):
        return True
    vowels = sum(1 for c in word if c in _VOWELS)
    return vowels == 0 or (len(word) >= 7 and vowels / len(word) < 0.2)


def foreign_language(tokens: list[str]) -> bool:
    """Whether the words are English or Swedish rather than Finnish.

    A word counts as Finnish when it is one of :data:`FINNISH_WORDS`, or when it is no English or
    Swedish word and Voikko knows it: "I need dentist aika, mun paikka tippui pois hampaasta" is
    Finnish enough for the classifier, "how do I book an appointment" is not.
    """
    if not tokens:
        return False
    finnish = sum(1 for t in tokens if t in FINNISH_WORDS or _finnish_content_word(t))
    foreign = max(sum(1 for t in tokens if t in ENGLISH_WORDS), sum(1 for t in tokens if t in SWEDISH_WORDS))
    if len(tokens) <= 2 and finnish == 0:
        return foreign == len(tokens) or tokens[0] in FOREIGN_GREETINGS
    return foreign >= 2 and foreign > 2 * finnish


def _finnish_content_word(token: str) -> bool:
    """A word Voikko reads as Finnish that is none of the English or Swedish words (which Voikko
    sometimes also knows: "my", "pain")."""
    if token in ENGLISH_WORDS or token in SWEDISH_WORDS or len(token) < 3:
        return False
    return bool(_lemmatizer().lemmas(token))


@lru_cache(maxsize=1)
def _lemmatizer() -> Lemmatizer:
    """One Voikko lemmatizer for the guard (without Voikko no word is known: the word lists decide)."""
    return Lemmatizer()


def farewell(tokens: list[str]) -> bool:
    """Whether a short message takes leave: a farewell phrase, or thanks ending in "moi"/"hei"."""
    folded = [normalise(token) for token in tokens]
    if not folded or len(folded) > MAX_FAREWELL_WORDS:
        return False
    text = f" {' '.join(folded)} "
    if any(f" {phrase} " in text for phrase in _FAREWELL_PHRASES):
        return True
    if len(folded) > 1 and text.endswith(tuple(f" {ending} " for ending in _FAREWELL_ENDINGS)):
        return True
    thanked = any(token.startswith(_THANKS) for token in folded)
    if thanked and _only_thanks_and_leave_taking(folded):
        return True  # "moi kiitos", "hei ja kiitos paljon"
    closing = thanked or folded[0] in _FAREWELL_OPENERS
    return closing and folded[-1] in _BYE_AFTER_THANKS


def _only_thanks_and_leave_taking(folded: list[str]) -> bool:
    """Whether every word thanks or takes leave, and at least one takes leave."""
    leave_taking = [token for token in folded if token in _BYE_AFTER_THANKS]
    rest = [token for token in folded if token not in _BYE_AFTER_THANKS and not token.startswith(_THANKS)]
    return bool(leave_taking) and all(token in _THANKS_FILLERS for token in rest)


def closing_thanks(text: str, tokens: list[str]) -> bool:
    """Whether a short message closes with thanks ("okei soitan sinne, kiitos") or thanks and says
    what the resident does next ("kiitos, mä kokeilen sitä chattia"), asking nothing new."""
    folded = [normalise(token) for token in tokens]
    if not folded or len(folded) > MAX_THANKS_WORDS or "?" in text:
        return False
    if folded[0].startswith(_THANKS) and _OWN_NEXT_STEP & set(folded[1:]):
        return True
    if not folded[-1].startswith(_THANKS):
        return False
    return len(folded) == 1 or folded[0] in _ACKNOWLEDGEMENTS or folded[0].startswith(_THANKS)


def classify_input(text: str) -> str | None:
    """``unclear_input``, ``other_language``, ``greet``, ``goodbye``, ``thank`` or None (a message for
    the classifier)."""
    tokens = words(strip_markup(text or ""))
    if not tokens:
        return UNCLEAR_INPUT
    if foreign_language(tokens):
        return OTHER_LANGUAGE
    if farewell(tokens):
        return GOODBYE
    if len(tokens) == 1 and normalise(tokens[0]) in _GREETINGS:
        return GREET
    if closing_thanks(text, tokens):
        return THANK
    random_words = sum(1 for t in tokens if looks_random(t))
    if random_words and random_words * 2 >= len(tokens) and not any(t in FINNISH_WORDS for t in tokens):
        return UNCLEAR_INPUT
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InputGuard(GraphComponent, IntentClassifier):  # type: ignore[misc]  # Rasa ships no types
    """Overrides the intent of messages without Finnish words (see the module docstring)."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after an intent classifier."""
        return [IntentClassifier]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        """Create the component (it has no state)."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Set the guard's intent with confidence 1.0 where it applies; a long message the classifier
        took for small talk gets the best intent of its ranking that is not small talk."""
        for message in messages:
            verdict = classify_input(message.get(TEXT) or "")
            if verdict is None:
                self._beyond_small_talk(message)
                continue
            intent = {INTENT_NAME_KEY: verdict, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, intent, add_to_output=True)
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != verdict]
            message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        return messages

    @staticmethod
    def _beyond_small_talk(message: Message) -> None:
        """ "moi. äidin kotihoito käy vain 10 min…" is about home care, not a goodbye."""
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) not in SMALL_TALK:
            return
        if len(words(strip_markup(message.get(TEXT) or ""))) <= MAX_SMALL_TALK_WORDS:
            return
        ranking = message.get(INTENT_RANKING_KEY) or []
        skipped = SMALL_TALK | {"nlu_fallback"}
        other = next((r for r in ranking if r.get(INTENT_NAME_KEY) not in skipped), None)
        if other is not None:
            message.set(INTENT, dict(other), add_to_output=True)
