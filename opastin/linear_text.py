r"""Linear text models kept as plain data: tf-idf features and one row of weights per class.

Both learned models of the NLU pipeline are linear models over the same kinds
of features of the folded text (:func:`normalise`): character n-grams inside
word boundaries, words, and for the intent classifier Finnish base forms
(libvoikko, :func:`base_form_terms`). scikit-learn fits them at ``rasa train``;
:class:`LinearTextModel` then keeps the vocabularies, idf weights and
coefficients in ``array``\ s and computes the features in plain Python, with
the same result as scikit-learn. Its file (a zip of JSON, term lists and raw
doubles) is read without pickle, so opening it cannot run code.
"""

from __future__ import annotations

import json
import math
import re
import sys
import zipfile
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from opastin.finnish_text import Lemmatizer, fold

if TYPE_CHECKING:
    from sklearn.pipeline import FeatureUnion, Pipeline

FORMAT = 2  # 2: named settings instead of a lone threshold
MIN_SUGGESTED = 5  # words at least this long get Voikko's spelling suggestions when unknown
# scikit-learn's own tokenisation, reproduced for scoring without it.
_WORD_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_WHITE_SPACES = re.compile(r"\s\s+")
_LETTERS = re.compile(r"[^\W\d_]+")


def normalise(text: str) -> str:
    """The text the features are computed from: folded, single spaces."""
    return " ".join(fold(text).split())


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams inside space-padded words (scikit-learn's ``char_wb``)."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset : offset + n])
            while offset + n < len(padded):
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


def word_ngrams(text: str, low: int, high: int) -> list[str]:
    """Word n-grams of words of two or more letters (scikit-learn's ``word`` analyzer)."""
    tokens = _WORD_TOKEN.findall(text)
    return [" ".join(tokens[i : i + n]) for n in range(low, high + 1) for i in range(len(tokens) - n + 1)]


@lru_cache(maxsize=1)
def _lemmatizer() -> Lemmatizer:
    return Lemmatizer()


def base_form_terms(text: str, low: int = 1, high: int = 1) -> list[str]:
    """Voikko's base forms of the words of ``text`` (already normalised), one term each.

    A word typed without ä/ö is read with them restored; an unknown word of
    :data:`MIN_SUGGESTED` or more letters is read as the words Voikko suggests
    one edit away. Without libvoikko the list is empty. ``low`` and ``high``
    are accepted for the common analyzer signature and unused.
    """
    lemmatizer = _lemmatizer()
    terms: list[str] = []
    for word in _LETTERS.findall(text):
        found = lemmatizer.lemmas(word)
        if not found and len(word) >= MIN_SUGGESTED:
            found = lemmatizer.suggested_lemmas(word)
        terms.extend(sorted(found))
    return terms


ANALYZERS = {"char_wb": char_wb_ngrams, "word": word_ngrams, "base_forms": base_form_terms}


def tfidf_features(
    char_ngrams: tuple[int, int], word_ngrams: tuple[int, int], *extra: tuple[str, Any]
) -> FeatureUnion:
    """scikit-learn's features of the text as :func:`normalise` leaves it (imported here: training only):
    sublinear tf-idf of character n-grams inside words (seen in two messages or more) and of
    words, then the ``extra`` named vectorizers."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=char_ngrams, preprocessor=normalise, sublinear_tf=True, min_df=2
    )
    words = TfidfVectorizer(preprocessor=normalise, ngram_range=word_ngrams, sublinear_tf=True)
    return FeatureUnion([("chars", chars), ("words", words), *extra])


def _doubles(values: Iterable[float]) -> array[float]:
    return array("d", (float(value) for value in values))


def _to_bytes(values: array[float]) -> bytes:
    """Raw little-endian doubles."""
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array("d", values)
    swapped.byteswap()
    return swapped.tobytes()


def _from_bytes(raw: bytes) -> array[float]:
    values = array("d")
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    return values


@dataclass(frozen=True)
class TfidfPart:
    """One block of features: an analyzer, its vocabulary (term → column) and idf weights."""

    analyzer: str
    ngram_range: tuple[int, int]
    vocabulary: Mapping[str, int]
    idf: array[float]

    def features(self, text: str) -> tuple[list[int], list[float]]:
        """Columns and L2-normalised sublinear tf-idf weights of ``text`` (already normalised)."""
        lookup = self.vocabulary.get
        counts = Counter(
            column
            for column in map(lookup, ANALYZERS[self.analyzer](text, *self.ngram_range))
            if column is not None
        )
        columns = sorted(counts)
        weights = [(1.0 + math.log(counts[column])) * self.idf[column] for column in columns]
        norm = math.sqrt(sum(weight * weight for weight in weights))
        return columns, [weight / norm for weight in weights] if norm else weights


@dataclass(frozen=True)
class LinearTextModel:
    """A fitted tf-idf + linear classifier model as plain data, scorable without NumPy.

    ``coef`` holds one row per class (one row in all for two classes), row after row.
    """

    parts: tuple[TfidfPart, ...]
    coef: array[float]
    intercept: array[float]
    classes: tuple[str, ...]

    @property
    def width(self) -> int:
        """The number of features: every part's vocabulary together."""
        return sum(len(part.idf) for part in self.parts)

    def features(self, text: str) -> tuple[list[int], list[float]]:
        """The columns and weights of ``text``'s features, every part's block after the other."""
        normalised = normalise(text)
        columns: list[int] = []
        weights: list[float] = []
        offset = 0
        for part in self.parts:
            part_columns, part_weights = part.features(normalised)
            columns.extend(offset + column for column in part_columns)
            weights.extend(part_weights)
            offset += len(part.idf)
        return columns, weights

    def probabilities(self, text: str) -> list[float]:
        """The probability of each class for ``text`` (in the order of :attr:`classes`)."""
        logits = list(self.intercept)
        coef, width = self.coef, self.width
        starts = [row * width for row in range(len(logits))]  # where each class's row begins
        for column, weight in zip(*self.features(text), strict=True):
            for row, start in enumerate(starts):
                logits[row] += coef[start + column] * weight
        if len(logits) == 1:  # two classes: one logit for the second
            second = 1.0 / (1.0 + math.exp(-logits[0]))
            return [1.0 - second, second]
        top = max(logits)
        exponentials = [math.exp(logit - top) for logit in logits]
        total = sum(exponentials)
        return [value / total for value in exponentials]

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> LinearTextModel:
        """The plain data of a fitted pipeline: a ``FeatureUnion`` of ``TfidfVectorizer`` objects named
        ``features`` (a vectorizer with an analyzer function is named after its :data:`ANALYZERS`
        key), then a linear ``classifier``."""
        features, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
        parts = tuple(
            TfidfPart(
                vectorizer.analyzer if isinstance(vectorizer.analyzer, str) else name,
                tuple(vectorizer.ngram_range),
                {str(term): int(column) for term, column in vectorizer.vocabulary_.items()},
                _doubles(vectorizer.idf_),
            )
            for name, vectorizer in features.transformer_list
        )
        return cls(
            parts,
            _doubles(classifier.coef_.ravel()),
            _doubles(classifier.intercept_),
            tuple(str(label) for label in classifier.classes_),
        )

    def write(self, archive: zipfile.ZipFile, settings: Mapping[str, float]) -> None:
        """Store the model and its ``settings`` (a threshold…) in ``archive``: JSON, term lists
        and raw doubles."""
        header: dict[str, Any] = {
            "format": FORMAT,
            "classes": list(self.classes),
            "settings": dict(settings),
            "parts": [
                {"analyzer": part.analyzer, "ngram_range": list(part.ngram_range)} for part in self.parts
            ],
        }
        archive.writestr("model.json", json.dumps(header, ensure_ascii=False))
        archive.writestr("coef.f64", _to_bytes(self.coef))
        archive.writestr("intercept.f64", _to_bytes(self.intercept))
        for index, part in enumerate(self.parts):
            terms = sorted(part.vocabulary, key=part.vocabulary.__getitem__)
            archive.writestr(f"terms_{index}.txt", "\n".join(terms))
            archive.writestr(f"idf_{index}.f64", _to_bytes(part.idf))

    @classmethod
    def read(cls, archive: zipfile.ZipFile) -> tuple[LinearTextModel, dict[str, float]]:
        """A model and its settings stored by :meth:`write` (``ValueError`` when it is not one)."""
        header = json.loads(archive.read("model.json"))
        if header.get("format") != FORMAT:
            raise ValueError(f"unknown format {header.get('format')!r}")
        parts = []
        for index, part in enumerate(header["parts"]):
            terms = archive.read(f"terms_{index}.txt").decode("utf-8").split("\n")
            idf = _from_bytes(archive.read(f"idf_{index}.f64"))
            if len(terms) != len(idf) or part["analyzer"] not in ANALYZERS:
                raise ValueError(f"part {index} is inconsistent")
            low, high = part["ngram_range"]
            vocabulary = {term: column for column, term in enumerate(terms)}
            parts.append(TfidfPart(part["analyzer"], (int(low), int(high)), vocabulary, idf))
        model = cls(
            tuple(parts),
            _from_bytes(archive.read("coef.f64")),
            _from_bytes(archive.read("intercept.f64")),
            tuple(str(label) for label in header["classes"]),
        )
        if len(model.coef) != len(model.intercept) * model.width:
            raise ValueError("the coefficients do not match the vocabularies")
        return model, {str(key): float(value) for key, value in header["settings"].items()}

    def save(self, path: Path, settings: Mapping[str, float]) -> None:
        """Write the model and its ``settings`` to ``path`` (a zip of JSON, text and raw numbers;
        no pickle)."""
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            self.write(archive, settings)

    @classmethod
    def load(cls, source: Path | IO[bytes], what: str) -> tuple[LinearTextModel, dict[str, float]]:
        """A model and its settings written by :meth:`save` (``ValueError`` naming ``what`` when
        it is not one)."""
        try:
            with zipfile.ZipFile(source) as archive:
                return cls.read(archive)
        except (KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"not {what}: {error}") from None
