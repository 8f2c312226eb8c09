"""A learned emergency detector: character n-grams and a linear classifier.

The lexicon catches the wordings its editors foresaw; this layer catches
wordings nobody wrote down, typed any way. It is a multinomial logistic
regression over character n-grams (2–5, inside word boundaries) and words of
the folded text, trained on emergency phrasings (label: their level) and
thousands of everyday messages (label: ``none``), each also in seeded typing
noise (:mod:`opastin.perturb`). Its probability that a message is *not*
everyday is compared with a threshold set for high recall; above it, the bot
asks one direct safety question rather than giving the numbers outright.

No Rasa here: the Rasa server trains and loads it inside its model
(``rasa_addons.emergency``), and the chat gateway reads it from the same
model file (:func:`load_from_model_archive`).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import joblib
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from opastin.finnish_text import fold
from opastin.perturb import perturb

EVERYDAY = "none"
DEFAULT_THRESHOLD = 0.6
# Typing noise added to every training message (each once, seeded).
TRAINING_NOISE = ("hurried", "spoken", "drop", "double", "fold")
FILE_NAME = "learned_emergency_detector.joblib"


@dataclass(frozen=True)
class LearnedScore:
    """How likely a message is an emergency, and which level the classifier leans to."""

    probability: float
    level: str


def _normalise(text: str) -> str:
    return " ".join(fold(text).split())


def _pipeline(seed: int) -> Pipeline:
    features = FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    preprocessor=_normalise,
                    sublinear_tf=True,
                    min_df=2,
                ),
            ),
            (
                "words",
                TfidfVectorizer(preprocessor=_normalise, ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            ),
        ]
    )
    classifier = LogisticRegression(C=8.0, class_weight="balanced", max_iter=3000, random_state=seed)
    return Pipeline([("features", features), ("classifier", classifier)])


def with_noise(texts: Iterable[tuple[str, str]], seed: int = 0) -> list[tuple[str, str]]:
    """Each ``(label, text)`` once as written and once in every kind of :data:`TRAINING_NOISE`."""
    out = []
    for label, text in texts:
        variants = {text, *(perturb(text, name, seed) for name in TRAINING_NOISE)}
        out.extend((label, variant) for variant in sorted(variants))
    return out


class LearnedDetector:
    """A trained classifier with its decision threshold."""

    def __init__(self, pipeline: Pipeline, threshold: float = DEFAULT_THRESHOLD) -> None:
        """Wrap a fitted pipeline whose classes are emergency levels and ``none``."""
        self.pipeline = pipeline
        self.threshold = threshold
        classes = list(pipeline.classes_)
        self._everyday = classes.index(EVERYDAY)
        self._classes = classes
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
        labels = [label for label, _ in labelled]
        texts = [text for _, text in labelled]
        pipeline = _pipeline(seed)
        pipeline.fit(texts, labels)
        return cls(pipeline, threshold)

    def score(self, text: str) -> LearnedScore:
        """The probability that ``text`` is not everyday, and the most likely emergency level."""
        return self._scores(text)

    def _score_uncached(self, text: str) -> LearnedScore:
        # The feature union's own transform runs through joblib (a millisecond per call); one
        # message is transformed feature by feature instead, with the same result.
        features, classifier = self.pipeline.named_steps["features"], self.pipeline.named_steps["classifier"]
        row = hstack([vectorizer.transform([text]) for _, vectorizer in features.transformer_list]).tocsr()
        probabilities = classifier.predict_proba(row)[0]
        level_index = max(
            (i for i in range(len(self._classes)) if i != self._everyday), key=lambda i: probabilities[i]
        )
        return LearnedScore(float(1.0 - probabilities[self._everyday]), self._classes[level_index])

    def suspects(self, text: str) -> LearnedScore | None:
        """The score when it reaches the threshold, else ``None``."""
        found = self.score(text)
        return found if found.probability >= self.threshold else None

    def save(self, path: Path) -> None:
        """Write the fitted classifier and threshold to ``path`` (joblib)."""
        joblib.dump({"pipeline": self.pipeline, "threshold": self.threshold}, path)

    @classmethod
    def load(cls, source: Path | io.BufferedIOBase) -> LearnedDetector:
        """Read a detector written by :meth:`save`."""
        data = joblib.load(source)
        return cls(data["pipeline"], data["threshold"])


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
