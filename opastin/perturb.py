"""Seeded typing noise: how a resident in a hurry, or on a phone, writes a message.

Each perturbation is a pure function of the text and a seed, so a measurement
can be repeated exactly. Perturbations that change one word pick it with a
random generator seeded by the seed and the text itself.

========== ===============================================================
name       what it does
========== ===============================================================
lowercase  everything in lower case
fold       ä → a, ö → o, å → a (a keyboard without Finnish letters)
nopunct    punctuation removed (words kept apart by spaces)
swap       two neighbouring letters swapped in one word of 5+ letters
drop       one letter dropped from one word of 5+ letters
double     one letter doubled in one word of 5+ letters
spoken     standard forms replaced by spoken ones (minä → mä, ei ole → ei oo…)
hurried    lowercase + fold + nopunct + swap together, as a shaking hand types
========== ===============================================================
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable

from opastin.finnish_text import fold_letters

MIN_WORD = 5
_WORD = re.compile(r"[^\W\d_]+")
_PUNCT = re.compile(r"[^\w\s]+")

# Standard written Finnish → spoken Finnish (puhekieli), whole words, case-insensitive.
# Multi-word forms first: they are tried before single words.
SPOKEN_FORMS: tuple[tuple[str, str], ...] = (
    ("minulla on", "mul on"),
    ("minulla ei ole", "mul ei oo"),
    ("sinulla on", "sul on"),
    ("ei ole", "ei oo"),
    ("en ole", "en oo"),
    ("minä en", "mä en"),
    ("minä", "mä"),
    ("minun", "mun"),
    ("minua", "mua"),
    ("minulle", "mulle"),
    ("minulla", "mulla"),
    ("minusta", "musta"),
    ("sinä", "sä"),
    ("sinun", "sun"),
    ("sinulle", "sulle"),
    ("sinulla", "sulla"),
    ("hän", "se"),
    ("hänen", "sen"),
    ("häntä", "sitä"),
    ("he", "ne"),
    ("olen", "oon"),
    ("olet", "oot"),
    ("emme", "ei me"),
    ("meidän", "meiän"),
    ("tarvitsen", "tarviin"),
    ("tarvitsisin", "tarttisin"),
    ("haluaisin", "haluisin"),
    ("kipeä", "kipee"),
    ("mikään", "mikää"),
    ("yhtään", "yhtää"),
    ("niin kuin", "niinku"),
    ("kun", "ku"),
    ("että", "et"),
    ("mutta", "mut"),
    ("onko", "onks"),
    ("voiko", "voiks"),
    ("saako", "saaks"),
)
_SPOKEN = [
    (re.compile(rf"(?<!\w){re.escape(standard)}(?!\w)", re.IGNORECASE), spoken)
    for standard, spoken in SPOKEN_FORMS
]


def _rng(text: str, seed: int, name: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}\0{name}\0{text}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _edit_one_word(text: str, rng: random.Random, edit: Callable[[str, int], str], span: int) -> str:
    """Apply ``edit(word, position)`` to one randomly chosen word of 5+ letters (unchanged if none)."""
    words = [match for match in _WORD.finditer(text) if len(match.group()) >= MIN_WORD]
    if not words:
        return text
    match = rng.choice(words)
    word = match.group()
    position = rng.randrange(len(word) - span + 1)
    return text[: match.start()] + edit(word, position) + text[match.end() :]


def lowercase(text: str, seed: int = 0) -> str:
    """All lower case."""
    return text.lower()


def fold(text: str, seed: int = 0) -> str:
    """Finnish and Swedish letters typed as their plain look-alikes (case kept)."""
    return fold_letters(text)


def nopunct(text: str, seed: int = 0) -> str:
    """Punctuation removed, words kept apart."""
    return " ".join(_PUNCT.sub(" ", text).split())


def swap(text: str, seed: int = 0) -> str:
    """Two neighbouring letters swapped in one word of 5+ letters."""

    def edit(word: str, i: int) -> str:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    return _edit_one_word(text, _rng(text, seed, "swap"), edit, span=2)


def drop(text: str, seed: int = 0) -> str:
    """One letter dropped from one word of 5+ letters."""
    return _edit_one_word(text, _rng(text, seed, "drop"), lambda w, i: w[:i] + w[i + 1 :], span=1)


def double(text: str, seed: int = 0) -> str:
    """One letter doubled in one word of 5+ letters."""
    return _edit_one_word(text, _rng(text, seed, "double"), lambda w, i: w[: i + 1] + w[i:], span=1)


def spoken(text: str, seed: int = 0) -> str:
    """Standard written forms replaced by spoken Finnish ones."""
    for pattern, replacement in _SPOKEN:
        text = pattern.sub(_case_keeping(replacement), text)
    return text


def _keep_case(original: str, replacement: str) -> str:
    return replacement.capitalize() if original[:1].isupper() else replacement


def _case_keeping(replacement: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement function: ``replacement`` with the case of the match's first letter."""
    return lambda match: _keep_case(match.group(), replacement)


def hurried(text: str, seed: int = 0) -> str:
    """Lower case, no Finnish letters, no punctuation and one swapped pair of letters."""
    return swap(nopunct(fold(text.lower())), seed)


PERTURBATIONS: dict[str, Callable[[str, int], str]] = {
    "lowercase": lowercase,
    "fold": fold,
    "nopunct": nopunct,
    "swap": swap,
    "drop": drop,
    "double": double,
    "spoken": spoken,
    "hurried": hurried,
}


def perturb(text: str, name: str, seed: int = 0) -> str:
    """Apply the perturbation ``name`` (one of :data:`PERTURBATIONS`) to ``text``."""
    try:
        return PERTURBATIONS[name](text, seed)
    except KeyError:
        raise ValueError(f"unknown perturbation {name!r}; use one of {', '.join(PERTURBATIONS)}") from None
