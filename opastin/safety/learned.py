r"""A learned emergency detector: character n-grams and a linear classifier.

The lexicon catches the wordings its editors foresaw; this layer catches
wordings nobody wrote down, typed any way. It is a multinomial logistic
regression over character n-grams (2–5, inside word boundaries) and words of
the folded text, trained on emergency phrasings (label: their level) and
thousands of everyday messages (label: ``none``), each also in seeded typing
noise (:mod:`opastin.perturb`). Its probability that a message is *not*
everyday is compared with a threshold set for high recall; above it, the bot
asks one direct safety question rather than giving the numbers outright.

Training uses scikit-learn (in the Rasa process, at ``rasa train``). The fitted
model is then kept as plain data (:class:`LinearTextModel`: vocabularies, idf
weights, coefficients in ``array``\ s) and scored in plain Python, with the
same result: the chat gateway loads neither scikit-learn, SciPy nor NumPy
(about 90 MB less), and the file in the model (a zip of text, JSON and raw
numbers, :data:`FILE_NAME`) is read without pickle, so opening it cannot run code.

No Rasa here: the Rasa server trains and loads it inside its model
(``rasa_addons.emergency``), and the chat gateway reads it from the same
model file (:func:`load_from_model_archive`).
"""

from __future__ import annotations

import io
import json
import math
import re
import sys
import tarfile
import zipfile
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING

from opastin.finnish_text import fold
from opastin.perturb import perturb

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

EVERYDAY = "none"
DEFAULT_THRESHOLD = 0.6
# Typing noise added to every training message (each once, seeded).
TRAINING_NOISE = ("hurried", "spoken", "drop", "double", "fold")
FILE_NAME = "learned_emergency_detector.zip"
FORMAT = 1
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
# scikit-learn's own tokenisation, reproduced for scoring without it.
_WORD_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_WHITE_SPACES = re.compile(r"\s\s+")


@dataclass(frozen=True)
class LearnedScore:
    """How likely a message is an emergency, and which level the classifier leans to."""

    probability: float
    level: str


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


ANALYZERS = {"char_wb": char_wb_ngrams, "word": word_ngrams}


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
    """A fitted tf-idf + logistic regression model as plain data, scored without NumPy.

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

    def probabilities(self, text: str) -> list[float]:
        """The probability of each class for ``text`` (in the order of :attr:`classes`)."""
        normalised = normalise(text)
        logits = list(self.intercept)
        coef, width, offset = self.coef, self.width, 0
        starts = [row * width for row in range(len(logits))]  # where each class's row begins
        for part in self.parts:
            for column, weight in zip(*part.features(normalised), strict=True):
                at = offset + column
                for row, start in enumerate(starts):
                    logits[row] += coef[start + at] * weight
            offset += len(part.idf)
        if len(logits) == 1:  # two classes: one logit for the second
            second = 1.0 / (1.0 + math.exp(-logits[0]))
            return [1.0 - second, second]
        top = max(logits)
        exponentials = [math.exp(logit - top) for logit in logits]
        total = sum(exponentials)
        return [value / total for value in exponentials]

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> LinearTextModel:
        """The plain data of a fitted :func:`fit_pipeline` pipeline."""
        features, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
        parts = tuple(
            TfidfPart(
                vectorizer.analyzer,
                tuple(vectorizer.ngram_range),
                {str(term): int(column) for term, column in vectorizer.vocabulary_.items()},
                _doubles(vectorizer.idf_),
            )
            for _, vectorizer in features.transformer_list
        )
        return cls(
            parts,
            _doubles(classifier.coef_.ravel()),
            _doubles(classifier.intercept_),
            tuple(str(label) for label in classifier.classes_),
        )

    def write(self, archive: zipfile.ZipFile, threshold: float) -> None:
        """Store the model and ``threshold`` in ``archive``: JSON, term lists and raw doubles."""
        header = {
            "format": FORMAT,
            "classes": list(self.classes),
            "threshold": threshold,
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
    def read(cls, archive: zipfile.ZipFile) -> tuple[LinearTextModel, float]:
        """A model and threshold stored by :meth:`write` (``ValueError`` when it is not one)."""
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
        return model, float(header["threshold"])


def fit_pipeline(texts: Sequence[str], labels: Sequence[str], seed: int) -> Pipeline:
    """Fit the scikit-learn pipeline the model is made from (imported here: training only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=CHAR_NGRAMS,
                    preprocessor=normalise,
                    sublinear_tf=True,
                    min_df=2,
                ),
            ),
            (
                "words",
                TfidfVectorizer(preprocessor=normalise, ngram_range=WORD_NGRAMS, sublinear_tf=True, min_df=1),
            ),
        ]
    )
    classifier = LogisticRegression(C=8.0, class_weight="balanced", max_iter=3000, random_state=seed)
    pipeline = Pipeline([("features", features), ("classifier", classifier)])
    pipeline.fit(list(texts), list(labels))
    return pipeline


def with_noise(texts: Iterable[tuple[str, str]], seed: int = 0) -> list[tuple[str, str]]:
    """Each ``(label, text)`` once as written and once in every kind of :data:`TRAINING_NOISE`."""
    out: list[tuple[str, str]] = []
    for label, text in texts:
        variants = {text, *(perturb(text, name, seed) for name in TRAINING_NOISE)}
        out.extend((label, variant) for variant in sorted(variants))
    return out


class LearnedDetector:
    """A trained classifier with its decision threshold."""

    def __init__(self, model: LinearTextModel, threshold: float = DEFAULT_THRESHOLD) -> None:
        """Wrap a model whose classes are emergency levels and ``none``."""
        self.model = model
        self.threshold = threshold
        self._everyday = model.classes.index(EVERYDAY)
        # The safety net may ask twice about one message (a suspicion, then a floor).
        self._scores = lru_cache(maxsize=16)(self._score_uncached)

    @classmethod
    def train(
        cls,
        emergencies: Sequence[tuple[str, str]],
        everyday: Sequence[str],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        seed: int = 42,
    ) -> LearnedDetector:
        """Fit on ``(level, text)`` emergencies and everyday texts, each also with typing noise."""
        if not emergencies or not everyday:
            raise ValueError("the learned detector needs both emergency and everyday examples")
        labelled = with_noise([*emergencies, *((EVERYDAY, text) for text in everyday)], seed)
        pipeline = fit_pipeline([text for _, text in labelled], [label for label, _ in labelled], seed)
        return cls(LinearTextModel.from_pipeline(pipeline), threshold)

    def score(self, text: str) -> LearnedScore:
        """The probability that ``text`` is not everyday, and the most likely emergency level."""
        return self._scores(text)

    def _score_uncached(self, text: str) -> LearnedScore:
        probabilities = self.model.probabilities(text)
        levels = [index for index in range(len(self.model.classes)) if index != self._everyday]
        level_index = max(levels, key=lambda index: probabilities[index])
        return LearnedScore(float(1.0 - probabilities[self._everyday]), self.model.classes[level_index])

    def suspects(self, text: str) -> LearnedScore | None:
        """The score when it reaches the threshold, else ``None``."""
        found = self.score(text)
        return found if found.probability >= self.threshold else None

    def save(self, path: Path) -> None:
        """Write the model and threshold to ``path`` (a zip of JSON, text and raw numbers; no pickle)."""
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            self.model.write(archive, self.threshold)

    @classmethod
    def load(cls, source: Path | IO[bytes]) -> LearnedDetector:
        """Read a detector written by :meth:`save` (``ValueError`` when it is not one)."""
        try:
            with zipfile.ZipFile(source) as archive:
                model, threshold = LinearTextModel.read(archive)
        except (KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"not a learned emergency detector: {error}") from None
        return cls(model, threshold)


def load_from_model_archive(model: Path) -> LearnedDetector | None:
    """The detector stored inside a trained Rasa model (``models/opastin.tar.gz``), or ``None``."""
    if not model.exists():
        return None
    with tarfile.open(model, "r:gz") as archive:
        member = next((m for m in archive.getmembers() if m.name.endswith("/" + FILE_NAME)), None)
        if member is None:
            return None
        handle = archive.extractfile(member)
        if handle is None:
            return None
        return LearnedDetector.load(io.BytesIO(handle.read()))
