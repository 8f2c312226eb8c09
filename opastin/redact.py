"""Masking personal data in residents' words before anyone reuses them as training examples.

Identity codes are masked wherever messages are stored (:mod:`opastin.privacy`).
What a content editor reviews in the learning queue is masked further, and an
example is approved only when none of these is found in it any more:

* e-mail addresses;
* street addresses: a compound ending in a street word, inflected or not, with
  its house number ("Kauppakatu 12 B 4", "Koulutiellä", "Storgatan 3");
* numbers of five digits or more, spaces and dashes between groups allowed
  (phone numbers, customer numbers, postcodes), and phone numbers however written;
* people's names, found with Voikko: a word whose only readings are first names
  or surnames ("Pekalle", "virtanen"), a surname-shaped place name
  ("Nieminen"), and, inside a sentence, a capitalised word that can be a name
  ("Tuuli", "Niemi") or that neither Voikko nor the service's own vocabulary knows.

Masking is deliberately eager: an editor rewrites the example anyway, and a
word masked by mistake costs a retyped word, a name left in costs a person's
privacy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import phonenumbers

from opastin.finnish_text import Lemmatizer
from opastin.privacy import HETU_MASK, mask_hetu

NAME_MASK = "[nimi]"
NUMBER_MASK = "[numero]"
ADDRESS_MASK = "[osoite]"
EMAIL_MASK = "[sähköposti]"
MASKS = (HETU_MASK, NAME_MASK, NUMBER_MASK, ADDRESS_MASK, EMAIL_MASK)

# The kinds of personal data :meth:`Redactor.findings` reports.
IDENTITY_CODE = "identity_code"
EMAIL = "email"
ADDRESS = "address"
NUMBER = "number"
NAME = "name"
MASK_LEFT = "mask"

_PERSON_CLASSES = frozenset({"etunimi", "sukunimi"})
_NAME_CLASSES = _PERSON_CLASSES | {"paikannimi"}
_MIN_DIGITS = 5

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_STREET_WORD = (
    r"(?:ka(?:tu|tua|du(?:n|ll[aä]|lt[aä]|lle))"
    r"|tie(?:n|ll[aä]|lt[aä]|lle|t[aä])?"
    r"|kuja(?:n|a|ll[aä]|lt[aä]|lle)?"
    r"|pol(?:ku|kua|u(?:n|ll[aä]|lt[aä]|lle))"
    r"|v[aä]yl[aä](?:n|[aä]|ll[aä]|lt[aä]|lle)?"
    r"|kaa(?:ri|ren|rella|relta|relle|rta)"
    r"|rin(?:ne|teen|teell[aä]|teelt[aä]|teelle|nett[aä])"
    r"|rai(?:tti|tin|till[aä]|tilt[aä]|tille|ttia)"
    r"|gatan|v[aä]gen|gr[aä]nd|stigen)"
)
_ADDRESS = re.compile(
    rf"\b[^\W\d_]{{2,}}{_STREET_WORD}\b(?:\s*\d+(?:\s*[a-zA-Z]\b)?(?:\s*\d+)?)?", re.IGNORECASE
)
_DIGIT_RUN = re.compile(r"(?<![\w])\+?\d+(?:[ \t-]?\d+)*")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_SENTENCE_END = re.compile(r"(?:^|[.!?:;]\s*|\n\s*)[\"'(«»”“]*$")
_MASK = re.compile("|".join(re.escape(mask) for mask in MASKS))


@dataclass(frozen=True)
class Redactor:
    """Masks and finds personal data; ``vocabulary`` holds lowercased words the service itself uses
    (its training examples), which are never taken for unknown names."""

    lemmatizer: Lemmatizer = field(default_factory=Lemmatizer)
    vocabulary: frozenset[str] = frozenset()

    def redact(self, text: str) -> str:
        """``text`` with every piece of personal data replaced by its mask (:data:`MASKS`)."""
        text = mask_hetu(text)
        text = _EMAIL.sub(EMAIL_MASK, text)
        text = _ADDRESS.sub(ADDRESS_MASK, text)
        text = self._mask_numbers(text)
        return self._mask_names(text)

    def findings(self, text: str) -> list[str]:
        """The kinds of personal data (or masks) still in ``text``, in a fixed order; empty when clean."""
        found = {
            IDENTITY_CODE: mask_hetu(text) != text,
            EMAIL: bool(_EMAIL.search(text)),
            ADDRESS: bool(_ADDRESS.search(text)),
            NUMBER: self._mask_numbers(text) != text,
            NAME: any(True for _ in self._names(text)),
            MASK_LEFT: bool(_MASK.search(text)),
        }
        return [kind for kind, present in found.items() if present]

    def _mask_numbers(self, text: str) -> str:
        spans = [(m.start(), m.end()) for m in _DIGIT_RUN.finditer(text) if _digits(m.group()) >= _MIN_DIGITS]
        matcher = phonenumbers.PhoneNumberMatcher(text, "FI", leniency=phonenumbers.Leniency.POSSIBLE)
        spans += [(match.start, match.end) for match in matcher]
        return _replace(text, spans, NUMBER_MASK)

    def _mask_names(self, text: str) -> str:
        return _replace(text, list(self._names(text)), NAME_MASK)

    def _names(self, text: str) -> Iterator[tuple[int, int]]:
        masked = [(m.start(), m.end()) for m in _MASK.finditer(text)]
        for match in _WORD.finditer(text):
            if any(start <= match.start() < end for start, end in masked):
                continue
            starts_sentence = bool(_SENTENCE_END.search(text[: match.start()]))
            if self._is_name(match.group(), starts_sentence):
                yield match.start(), match.end()

    def _is_name(self, word: str, starts_sentence: bool) -> bool:
        classes = self._classes(word)
        persons = classes & _PERSON_CLASSES
        if persons and classes <= _NAME_CLASSES:
            return True
        if classes == {"paikannimi"} and any(
            base.endswith("nen") for base in self.lemmatizer.base_forms(word)
        ):
            return True
        capitalised = word[:1].isupper() and not word.isupper()
        if not capitalised or starts_sentence:
            return False
        return bool(persons) or (not classes and word.lower() not in self.vocabulary)

    def _classes(self, word: str) -> frozenset[str]:
        classes = self.lemmatizer.word_classes(word)
        if classes or "-" not in word:
            return classes
        parts = [self.lemmatizer.word_classes(part) for part in word.split("-")]
        return frozenset().union(*parts) if all(part & _PERSON_CLASSES for part in parts) else frozenset()


def _digits(text: str) -> int:
    return sum(character.isdigit() for character in text)


def _replace(text: str, spans: list[tuple[int, int]], mask: str) -> str:
    """``text`` with the (possibly overlapping) ``spans`` replaced by one ``mask`` each."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + mask + text[end:]
    return text
