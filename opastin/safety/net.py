"""The safety net in layers: what to do with one message that may be an emergency.

1. The editors' lexicon, matched as written (with Voikko's base forms): a
   match is **certain**: the answer is the emergency number of its level,
   unless its sentence speaks of the past, asks for information or supposes
   ("vuosia sitten", "miten tunnistaa", "jos"): then it is a **suspicion**
   if the learned detector does not find the message clearly everyday.
2. The lexicon again, tolerantly: one edit allowed in words of 5+ letters and
   Voikko's spelling suggestions. A match is a **suspicion**.
3. The learned detector (:mod:`opastin.safety.learned`) over the whole
   message, and when it stays below its threshold, over the message as
   Voikko would spell it (Finnish only). Above its threshold: a **suspicion**.

A suspicion is answered by one direct safety question, call button first
(route target ``confirm``); its ``level`` says which guidance "yes" gives.
When the resident negated the very words the lexicon knows ("ei ole
itsetuhoisia ajatuksia"), the learned layer's suspicion of that level stays quiet.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from opastin.content import PROJECT_ROOT
from opastin.finnish_text import fold
from opastin.safety.learned import LearnedDetector, load_from_model_archive
from opastin.safety.lexicon import EmergencyMatch, EmergencyMatcher, default_matcher

logger = logging.getLogger(__name__)

DEFAULT_MODEL = PROJECT_ROOT / "models" / "opastin.tar.gz"

CONFIRM = "confirm"
LAYER_LEXICON = "lexicon"
LAYER_TOLERANT = "tolerant"
LAYER_LEARNED = "learned"
LAYER_CLASSIFIER = "classifier"
# A lexicon match in a sentence about the past, a question or a supposition ("vuosia sitten",
# "miten tunnistaa", "jos") asks the safety question only when the learned detector gives the
# message at least this probability; below it the message is everyday.
TEMPERED_FLOOR = 0.4
# The intent classifier alone guessing "emergency" asks the safety question when the learned
# detector gives the message at least this probability (else the guess gives way to the next intent).
CLASSIFIER_FLOOR = 0.2
# A tolerant (typo-corrected) match in a sentence about the past, information or supposition:
# lower than TEMPERED_FLOOR, as a typo also lowers the learned detector's probability.
TOLERANT_TEMPERED_FLOOR = 0.2
# A match found only by reading a real word as another with a letter left out ("osaan" for
# "otsaan"): real words one letter apart are often different words, so the learned detector must
# not find the message clearly everyday (measured on all lists with one letter dropped: 13 of 33
# misses caught for 1 more safety question in 5,635 everyday messages; at 0.0, 16 for 11).
LEFT_OUT_FLOOR = 0.1
# A learned suspicion at least this likely is firm: asked about even inside a conversation about an
# everyday need. Below it (and for the intent classifier's guess) it is moderate: there the dialogue
# may read the message as a follow-up on that need and remind of the numbers instead (docs/safety.md).
FIRM_LEARNED = 0.95
# The learned detector judges messages of at least this many words: one word ("äiti") gives it
# too little to go on, and the lexicon alone judges it (exactly and tolerantly).
LEARNED_MIN_WORDS = 2
# Common English and Swedish words: a message made of them is not Finnish, and the Finnish
# suspicion layers (tolerant matching, the learned detector) stay out of it.
_ENGLISH_WORDS = frozenset(
    "i have has my me the and is are a an to can you he she it not no of in for with was do "
    "t s m don doesn didn any only just want but so at on be this that what there who how why when from or "
    "hi hello hey sorry please thanks thank does did anyone someone here we our your his her they their "
    "them really since last year week weeks day days like feel feels need needs help get got should would "
    "could will ask asking question questions about all over morning yesterday today tonight speak "
    "english swedish finnish son daughter wife husband mother father mom dad who where which been very "
    "much some for".split()
)
_SWEDISH_WORDS = frozenset(
    "jag har min mitt mig och är ar inte det en ett att kan han hon vi ni de som på pa med "
    "vad ska man om vill veta hur när nar varför varfor eller men till från fran av för for "
    "hej tack vår var vi behöver behover går gar bra skriva svenska finska flyttade hit dotter fru make "
    "också ocksa någon nagon nu här hjälp hjalp sin sitt nej vara blir får far ont mycket sedan".split()
)
_FOREIGN_WORDS = _ENGLISH_WORDS | _SWEDISH_WORDS
# "don't" is left out on purpose: "I don't want to be alive" is negation-worded danger.
_FOREIGN_NEGATIONS = frozenset("no not never without nothing inga ingen inte aldrig utan".split())
# Information questions and history in English or Swedish ("warning signs", "i förväg"): the
# Finnish-trained learned detector cannot read these, so such a message gets no learned
# suspicion (the English and Swedish lexicon rules still apply).
_FOREIGN_NOT_NOW = frozenset(
    "previously history signs symptoms warning asking advance year years month months "
    "förra forra tecken symtom förväg forvag månader manader hade often ofta usually brukar".split()
)
# A learned suspicion on English or Swedish text needs at least this probability: the
# detector learned Finnish, and reads foreign medical words as alarming whatever they say.
FOREIGN_LEARNED_FLOOR = 0.9
# Typos are read against the English and Swedish rules' words in a message at least this English or
# Swedish ("Ett barn har gått egnom isen" is a third Swedish by the common words).
PARTLY_FOREIGN = 0.25
_WORD = re.compile(r"[^\W\d_]+")
_AGE = re.compile(
    r"\b\d+\s*(years?|months?|weeks?|år|ar|månader|manader|veckor)\s*(old|gammal|gammalt|gamla)\b"
)
_SPELLED_WORD = re.compile(r"[a-zåäö]+")


@dataclass(frozen=True)
class SafetyVerdict:
    """The safety net's view of one message (safe to log: no words of the message).

    Attributes:
        level: ``112``, ``crisis``, ``116117`` or ``social``: the guidance the
            message calls for (for a suspicion: the guidance "yes" gives).
        certain: a lexicon match as written; otherwise the safety question comes first.
        layer: which layer decided: ``lexicon``, ``tolerant`` or ``learned``.
        rule: the lexicon rule's id (empty for the learned layer).
        levels: every level the lexicon matched, most urgent first.
        language: ``fi``, ``en`` or ``sv``, for the language of the answer.
        help: further help the answer names (``violence``), from the lexicon rule.
        probability: the learned detector's probability, for a suspicion of the learned layer.
    """

    level: str
    certain: bool
    layer: str
    rule: str = ""
    levels: tuple[str, ...] = ()
    language: str = "fi"
    help: str = ""
    probability: float = 0.0

    @classmethod
    def of_match(cls, match: EmergencyMatch, certain: bool, layer: str) -> SafetyVerdict:
        """The verdict of a lexicon match (as written or tolerant): its level, rule, levels,
        language and help."""
        return cls(match.level, certain, layer, match.rule, match.levels, match.language, match.help)

    @property
    def target(self) -> str:
        """The route target: the level when certain, ``confirm`` for a suspicion."""
        return self.level if self.certain else CONFIRM

    @property
    def firm(self) -> bool:
        """Whether the verdict rests on the lexicon's words, or on a learned probability of at least
        :data:`FIRM_LEARNED`; a weaker guess is moderate."""
        return self.layer in (LAYER_LEXICON, LAYER_TOLERANT) or self.probability >= FIRM_LEARNED


class SafetyNet:
    """Runs the layers over a message, cheapest and most certain first."""

    def __init__(
        self, matcher: EmergencyMatcher, learned: LearnedDetector | None = None, *, left_out: bool = True
    ) -> None:
        """Use the compiled lexicon ``matcher`` and, when given, the learned detector; ``left_out=False``
        leaves out the reading of known words with a letter left out (to measure what it adds)."""
        self.matcher = matcher
        self.learned = learned
        self.left_out = left_out

    def check(self, text: str) -> SafetyVerdict | None:
        """The verdict on ``text``, or ``None`` when no layer sees danger."""
        if not text or not text.strip():
            return None
        exact = self.matcher.detect(text)
        if exact is not None and (exact.certain or self.worth_asking(text, TEMPERED_FLOOR)):
            return SafetyVerdict.of_match(exact, exact.certain, LAYER_LEXICON)
        if exact is not None:
            return self.read_otherwise(text, exact)
        foreign = written_in_english_or_swedish(text)
        respelled = self.respelled_foreign(text)
        if respelled is not None:
            return respelled
        if foreign:
            # The Finnish vocabulary's spelling corrections would only mislead; a negation
            # ("no suicidal thoughts") keeps the learned layer out too.
            if negates_or_looks_back(text):
                return None
        else:
            tolerant = self.tolerant_match(text)
            if tolerant is not None:
                # Like a tempered exact match: past, information or supposition needs the learned
                # detector not to find the message clearly everyday.
                if tolerant.tempered and not self.worth_asking(text, TOLERANT_TEMPERED_FLOOR):
                    return None
                return SafetyVerdict.of_match(tolerant, False, LAYER_TOLERANT)
        if len([word for word in _WORD.findall(text) if len(word) > 1]) < LEARNED_MIN_WORDS:
            return None  # "äiti", "isä": whom the matter is about, for the lexicon alone to judge
        found = self.learned.suspects(text) if self.learned is not None else None
        if found is None and not foreign and self.learned is not None:
            # A second opinion on the message as Voikko would spell it: typing noise ("evrta",
            # "lahaalta") hides words the detector knows.
            spelled = self.spelled(text)
            if spelled != text.lower() and not self.vetoed(spelled):
                text = spelled
                found = self.learned.suspects(text)
        if found is None or (not foreign and self.denies(text, found.level)):
            return None
        if foreign and found.probability < FOREIGN_LEARNED_FLOOR:
            return None
        return SafetyVerdict(
            found.level,
            False,
            LAYER_LEARNED,
            levels=(found.level,),
            language=foreign_language(text) if foreign else "fi",
            probability=found.probability,
        )

    def tolerant_match(self, text: str) -> EmergencyMatch | None:
        """The lexicon's match once typos are corrected; failing that, once a word the speller knows
        is also read as a lexicon word with a letter left out ("vasaa" for "vatsaa"), when the
        learned detector gives the message at least :data:`LEFT_OUT_FLOOR`."""
        if self.matcher.has_corrections(text):
            found = self.matcher.detect(text, tolerant=True)
            if found is not None:
                return found
        if not self.left_out or not self.matcher.has_left_out_readings(text):
            return None
        found = self.matcher.detect(text, tolerant=True, left_out=True)
        return found if found is not None and self.worth_asking(text, LEFT_OUT_FLOOR) else None

    def read_otherwise(self, text: str, doubted: EmergencyMatch) -> SafetyVerdict | None:
        """A suspicion when the message with its typos corrected matches another rule, not in doubt
        ("toivon että nukahttaisin enkä heräisi": someone not waking, as typed; the writer's wish not
        to wake, as meant); else ``None``, as the doubted match was found everyday."""
        if written_in_english_or_swedish(text):
            return None
        found = self.matcher.detect(text, tolerant=True)
        if found is None or found.tempered or found.rule == doubted.rule:
            return None
        return SafetyVerdict.of_match(found, False, LAYER_TOLERANT)

    def respelled_foreign(self, text: str) -> SafetyVerdict | None:
        """A suspicion when the English and Swedish rules match once typos are read against their
        own words ("my son swallwed a button battery", "min man ohtar mig")."""
        if not written_in_english_or_swedish(text, PARTLY_FOREIGN):
            return None
        for reading in self.matcher.spelled_foreign(text):
            found = self.matcher.detect(reading) if reading != fold(text) else None
            if found is not None and not found.tempered and found.language != "fi":
                return SafetyVerdict.of_match(found, False, LAYER_TOLERANT)
        return None

    def spelled(self, text: str) -> str:
        """``text`` lowercased, with every word Voikko does not know spelled as it suggests."""
        return _SPELLED_WORD.sub(lambda word: self.matcher.lemmatizer.spelled(word.group(0)), text.lower())

    def worth_asking(self, text: str, floor: float) -> bool:
        """Whether a weak sign of danger (a tempered lexicon match, the intent classifier's guess)
        deserves the safety question: yes, unless the learned detector gives ``text`` less than ``floor``
        (on English or Swedish text: less than :data:`FOREIGN_LEARNED_FLOOR`, or it negates or asks
        for information).
        """
        if self.learned is None:
            return True
        if written_in_english_or_swedish(text):
            if negates_or_looks_back(text):
                return False
            floor = max(floor, FOREIGN_LEARNED_FLOOR)
            return self.learned.score(text).probability >= floor
        # As for a learned suspicion, the message as Voikko would spell it is a second opinion.
        return any(self.learned.score(variant).probability >= floor for variant in (text, self.spelled(text)))

    def denies(self, text: str, level: str) -> bool:
        """Whether the lexicon's words are there but negated ("en ole ajatellut itsetuhoa"); a
        denial found only by reading a typo as a lexicon word must be of ``level`` too ("en oo
        ukkunu" read as "hukkunut" denies an accident, not the crisis the rest of it suggests).

        Meaningful after a tolerant check found nothing: then any match here was negated.
        """
        if self.matcher.detect(text, negation=False) is not None:
            return True
        return self.denied_level(text) == level

    def denied_level(self, text: str) -> str | None:
        """The level of the lexicon's words when they are there but negated ("en mä oo tekemässä
        itelleni mitään": crisis); meaningful, as :meth:`denies`, after a check found nothing."""
        found = self.matcher.detect(text, tolerant=True, negation=False)
        return found.level if found is not None else None

    def vetoed(self, text: str) -> bool:
        """Whether a lexicon rule matches ``text`` only where its ``unless`` declares the sentence
        everyday ("olisi parempi jos tätä palvelua ei olisi"): the spelled second opinion of the
        learned detector does not overrule the editors there."""
        return self.matcher.detect(text, vetoes=False) is not None and self.matcher.detect(text) is None

    def already_called(self, text: str) -> bool:
        """Whether the resident says 112 has been called or help is already on its way."""
        return self.matcher.already_called(text)

    def situation_resolved(self, text: str) -> bool:
        """Whether the resident says the emergency is over ("se löyty, nyt se on kotona ja kunnossa",
        "ambulanssi ja poliisi kävi") and the lexicon finds no certain danger in the message ("löytyi
        hangesta eikä herää"); a suspicion (the learned detector reads "löyty" as alarming, the
        lexicon "ambulanssi" in a sentence about what was done) is overruled."""
        if not self.matcher.situation_resolved(text):
            return False
        verdict = self.check(text)
        return verdict is None or not verdict.certain


def negates_or_looks_back(text: str) -> bool:
    """Whether English or Swedish text negates, asks for information or speaks of history
    (an age, "2 years old", "två år gammal", is not history)."""
    words = set(_WORD.findall(_AGE.sub(" ", text.lower())))
    return bool(words & (_FOREIGN_NEGATIONS | _FOREIGN_NOT_NOW))


def foreign_language(text: str) -> str:
    """``en`` or ``sv`` for text :func:`written_in_english_or_swedish`, by which has more common words."""
    words = _WORD.findall(text.lower())
    english = sum(word in _ENGLISH_WORDS for word in words)
    swedish = sum(word in _SWEDISH_WORDS for word in words)
    return "sv" if swedish > english else "en"


def written_in_english_or_swedish(text: str, share: float = 0.4) -> bool:
    """Whether at least ``share`` of the words (and two or more) are common English or Swedish words."""
    words = _WORD.findall(text.lower())
    foreign = sum(word in _FOREIGN_WORDS for word in words)
    return foreign >= 2 and foreign >= share * len(words)


_DEFAULT_NET: SafetyNet | None = None
_DEFAULT_NET_LOCK = threading.Lock()


def default_net(model: Path = DEFAULT_MODEL) -> SafetyNet:
    """The project's lexicon and the learned detector of the trained model, loaded on first use.

    Used outside the Rasa server (the chat gateway in live chats). Without a
    trained model the lexicon layers work alone.
    """
    global _DEFAULT_NET
    with _DEFAULT_NET_LOCK:
        if _DEFAULT_NET is None:
            _DEFAULT_NET = _load_net(model)
    return _DEFAULT_NET


def _load_net(model: Path) -> SafetyNet:
    """The lexicon, and the learned detector when the model has one (a broken model is logged)."""
    learned = None
    try:
        learned = load_from_model_archive(model)
    except Exception:  # noqa: BLE001 - a broken model must not take the lexicon down with it
        logger.exception("could not read the learned emergency detector from %s", model)
    if learned is None:
        logger.warning("no learned emergency detector in %s; the lexicon layers work alone", model)
    return SafetyNet(default_matcher(), learned)
