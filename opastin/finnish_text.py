"""Light-weight Finnish text normalisation for rule matching.

Used by the emergency safety net (``opastin.safety.lexicon``); it imports
nothing from Rasa so that it stays cheap to load in tests and scripts.

* Text is lowercased and folded (``ä`` → ``a``, ``ö`` → ``o``, ``å`` → ``a``, as
  a keyboard without them types) so that messages typed without Finnish
  letters match the same rules.
* Each word gets its base forms from libvoikko when it is installed (Voikko
  is loaded once per process). Words typed without ``ä``/``ö`` are also
  analysed with the umlauts restored (``heraa`` → ``herää`` → ``herätä``).
* Without libvoikko everything still works on surface forms: the rules then
  rely on stems (``rintaki*``) and regular expressions.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import OSA

logger = logging.getLogger(__name__)

SUGGESTIONS = 5  # Voikko's spelling suggestions considered per unknown word
MIN_SPELLED_LENGTH = 5  # shorter unknown words ("mä", "oo", "tiiä") are left as typed
_FOLD = str.maketrans({"ä": "a", "ö": "o", "å": "a", "æ": "a", "ø": "o"})
_FOLD_UPPER = str.maketrans({"Ä": "A", "Ö": "O", "Å": "A"})
_WORD = re.compile(r"[0-9a-zäöåæøéü]+")
# Sentence ends stop multi-word rules; clause marks only stop negation scope.
# A full stop ends a sentence, but not inside a number ("39.5", "klo 12.30").
_SENTENCE_END = re.compile(r"[!?\n]+|(?<!\d)\.+|\.+(?!\d)")
_CLAUSE_MARK = re.compile(r"[,;:()\"]+|\s[-–]\s")
# A chat message's sentences as the dialogue reads them: split at ".", "!" and "?" only.
_CHAT_SENTENCE_END = re.compile(r"[.!?]+")
_CLAUSE_WORDS = frozenset({"mutta", "mut", "vaan", "kuitenkin", "silti"})


def chat_sentences(text: str) -> list[str]:
    """The non-empty sentences of a chat message, split at ".", "!" and "?" ("Nyt se on oikein.
    Lähettäkää se.", "…käyn katsomassa häntä. Kiitos, hei.")."""
    return [part for part in _CHAT_SENTENCE_END.split(text) if part.strip()]


def fold_letters(text: str) -> str:
    """Fold ``ä``/``ö``/``å`` without lowercasing (safe for regular expressions: ``\\S`` stays)."""
    return text.translate(_FOLD).translate(_FOLD_UPPER)


def fold(text: str) -> str:
    """Lowercase ``text`` and fold Nordic letters to their ASCII look-alikes.

    Other accents are removed as well (``é`` → ``e``).
    """
    lowered = text.lower().translate(_FOLD)
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalise(text: str) -> str:
    """:func:`fold` ``text``, then drop punctuation and keep single spaces (for keyword matching)."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(text)).split())


def clause_words(text: str) -> list[list[str]]:
    """The folded words of ``text``, clause by clause (the clauses of :func:`tokenize`)."""
    return [
        [surface for _, _, _, surface in words]
        for _, words in itertools.groupby(_split_words(text), key=lambda word: word[1])
    ]


def _split_words(text: str) -> Iterator[tuple[int, int, str, str]]:
    """Each word of ``text`` as (sentence index, clause index, as typed in lower case, folded).

    Sentence ends, clause marks and clause words ("mutta") each start a new clause.
    """
    clause = 0
    for sentence_index, sentence in enumerate(_SENTENCE_END.split(text.lower())):
        clause += 1
        for part in _CLAUSE_MARK.split(sentence):
            clause += 1
            for raw in _WORD.findall(part):
                surface = fold(raw)
                if surface in _CLAUSE_WORDS:
                    clause += 1
                yield sentence_index, clause, raw, surface


@dataclass(frozen=True)
class Token:
    """One word of a message.

    Attributes:
        surface: the folded word as typed.
        lemmas: folded base forms (Voikko analyses and editor aliases).
        sentence: index of the sentence the word belongs to.
        clause: index of the clause (comma, ``mutta`` ...) the word belongs to.
    """

    surface: str
    lemmas: frozenset[str]
    sentence: int
    clause: int

    @property
    def keys(self) -> frozenset[str]:
        """The surface form and the base forms together."""
        return self.lemmas | {self.surface}


class Lemmatizer:
    """Base forms of Finnish words via libvoikko, cached; no-op without it."""

    def __init__(self, use_voikko: bool = True, cache_size: int = 50_000) -> None:
        """Load Voikko (once per process) unless ``use_voikko`` is false or it is missing."""
        self._voikko = _shared_voikko() if use_voikko else None
        self._lemmas = lru_cache(maxsize=cache_size)(self._lemmas_uncached)
        self._suggestions = lru_cache(maxsize=cache_size)(self._suggestions_uncached)
        self._classes = lru_cache(maxsize=cache_size)(self._classes_uncached)
        self._near = lru_cache(maxsize=cache_size)(self._near_uncached)

    @property
    def available(self) -> bool:
        """Whether base forms come from Voikko (otherwise only surface forms are used)."""
        return self._voikko is not None

    def lemmas(self, word: str) -> frozenset[str]:
        """Folded base forms of a lowercased ``word`` (empty when unknown)."""
        if self._voikko is None:
            return frozenset()
        return self._lemmas(word)

    def suggested_lemmas(self, word: str) -> frozenset[str]:
        """Folded words and base forms of Voikko's spelling suggestions for an unknown ``word``.

        Only suggestions one edit away are kept (a swapped, dropped, doubled or
        wrong letter), so that a typo is read as the word meant, not a guess.
        """
        if self._voikko is None:
            return frozenset()
        return self._suggestions(word)

    def spelled(self, word: str) -> str:
        """``word`` (lowercased) as Voikko would spell it: unchanged when Voikko knows it or it is
        shorter than :data:`MIN_SPELLED_LENGTH`, else its first suggestion one edit away (a
        swapped, dropped, doubled or wrong letter), if any."""
        lowered = word.lower()
        if self._voikko is None or len(lowered) < MIN_SPELLED_LENGTH or self.lemmas(lowered):
            return lowered
        return next(iter(self._near(lowered)), lowered)

    def word_classes(self, word: str) -> frozenset[str]:
        """Voikko's word classes of ``word`` as typed (``etunimi``, ``sukunimi``, ``nimisana`` …);
        empty when unknown or without Voikko."""
        if self._voikko is None:
            return frozenset()
        return self._classes(word)

    def base_forms(self, word: str) -> frozenset[str]:
        """Voikko's base forms of ``word`` as typed, unfolded (``Niemisen`` → ``Nieminen``)."""
        if self._voikko is None:
            return frozenset()
        return frozenset(base for base, _ in self._voikko.analyses(word) if base)

    def clear_cache(self) -> None:
        """Forget cached analyses, Voikko's own answers too (used when measuring cold-start cost)."""
        self._lemmas.cache_clear()
        self._suggestions.cache_clear()
        self._classes.cache_clear()
        self._near.cache_clear()
        if self._voikko is not None:
            self._voikko.clear_cache()

    def _classes_uncached(self, word: str) -> frozenset[str]:
        assert self._voikko is not None
        return frozenset(word_class for _, word_class in self._voikko.analyses(word) if word_class)

    def _near_uncached(self, word: str) -> tuple[str, ...]:
        """Voikko's suggestions for ``word`` one edit away, lowercased, in Voikko's order (asked once
        per word: spelling and the tolerant lexicon's corrections both read them)."""
        assert self._voikko is not None
        lowered = (suggestion.lower() for suggestion in self._voikko.suggestions(word))
        return tuple(s for s in lowered if " " not in s and OSA.distance(fold(s), fold(word)) <= 1)

    def _suggestions_uncached(self, word: str) -> frozenset[str]:
        found: set[str] = set()
        for suggestion in self._near(word):
            found.add(fold(suggestion))
            found |= self._lemmas(suggestion)
        return frozenset(found)

    def _lemmas_uncached(self, word: str) -> frozenset[str]:
        candidates = [word]
        # Typed without umlauts: Finnish vowel harmony means a word with a/o
        # and no front vowel may really be its ä/ö twin. Try the variants.
        if not re.search("[äöy]", word) and re.search("[ao]", word):
            candidates += [
                word.replace("a", "ä"),
                word.replace("o", "ö"),
                word.replace("a", "ä").replace("o", "ö"),
            ]
        found = self._analysed(candidates)
        if not found:
            found = self._analysed(_written_forms(candidates))
        return frozenset(found)

    def _analysed(self, candidates: list[str]) -> set[str]:
        assert self._voikko is not None
        return {
            fold(base) for candidate in candidates for base, _ in self._voikko.analyses(candidate) if base
        }


_SPOKEN_PARTICIPLE = re.compile(r"[nlrs][uy]$")
_SPOKEN_PAST = re.compile(r"[uys]$")


def _written_forms(spoken: list[str]) -> list[str]:
    """Written forms of spoken Finnish verb endings that Voikko does not know as typed.

    Spoken Finnish drops the participle's final t ("puristanu", "ollu", "menny") and
    the past tense's final i ("kaatu", "putos", "pyörty").
    """
    forms: list[str] = []
    for word in spoken:
        if _SPOKEN_PARTICIPLE.search(word):
            forms.append(word + "t")
        if _SPOKEN_PAST.search(word):
            forms.append(word + "i")
    return forms


class _SharedVoikko:
    """The process-wide Voikko handle behind one lock (libvoikko handles are not thread-safe), its
    answers cached for every :class:`Lemmatizer`: the intent classifier and the safety net read the
    same words, and a spelling suggestion costs milliseconds."""

    def __init__(self, handle: Any, cache_size: int = 100_000) -> None:
        self._handle = handle
        self._lock = threading.Lock()
        self.analyses = lru_cache(maxsize=cache_size)(self._analyses_uncached)
        self.suggestions = lru_cache(maxsize=cache_size)(self._suggestions_uncached)

    def clear_cache(self) -> None:
        """Forget every answer."""
        self.analyses.cache_clear()
        self.suggestions.cache_clear()

    def _analyses_uncached(self, word: str) -> tuple[tuple[str, str], ...]:
        """(base form, word class) of each of Voikko's analyses of ``word`` ("" when not given)."""
        with self._lock:
            found = self._handle.analyze(word)
        return tuple((a.get("BASEFORM") or "", a.get("CLASS") or "") for a in found)

    def _suggestions_uncached(self, word: str) -> tuple[str, ...]:
        """Voikko's first :data:`SUGGESTIONS` spelling suggestions for ``word``."""
        with self._lock:
            return tuple(str(suggestion) for suggestion in self._handle.suggest(word)[:SUGGESTIONS])


_VOIKKO_LOCK = threading.Lock()
_VOIKKO: _SharedVoikko | None = None
_VOIKKO_TRIED = False


def _shared_voikko() -> _SharedVoikko | None:
    """The process-wide Voikko, or ``None`` when libvoikko is unavailable."""
    global _VOIKKO, _VOIKKO_TRIED
    with _VOIKKO_LOCK:
        if not _VOIKKO_TRIED:
            _VOIKKO_TRIED = True
            try:
                import libvoikko

                _VOIKKO = _SharedVoikko(libvoikko.Voikko("fi"))
            except Exception as error:  # noqa: BLE001 - any failure means "no Voikko"
                logger.warning("libvoikko is not available (%s); matching on word stems only", error)
                _VOIKKO = None
        return _VOIKKO


def tokenize(text: str, lemmatizer: Lemmatizer, aliases: dict[str, frozenset[str]]) -> list[Token]:
    """Split ``text`` into folded tokens with base forms, sentence and clause indexes.

    Args:
        text: the message as typed.
        lemmatizer: source of base forms.
        aliases: extra base forms for folded surface forms (spoken Finnish,
            common typos), e.g. ``{"kipee": {"kipea"}}``.
    """
    tokens: list[Token] = []
    for sentence_index, clause, raw, surface in _split_words(text):
        lemmas = lemmatizer.lemmas(raw) | aliases.get(surface, frozenset())
        tokens.append(Token(surface, frozenset(lemmas), sentence_index, clause))
    return tokens
