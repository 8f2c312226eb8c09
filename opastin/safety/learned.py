r"""A learned emergency detector: character n-grams and a linear classifier.

The lexicon catches the wordings its editors foresaw; this layer catches
wordings nobody wrote down, typed any way. It is a multinomial logistic
regression (:mod:`opastin.linear_text`) over character n-grams (2–5, inside
word boundaries) and words of the folded text, trained on emergency phrasings
(label: their level) and thousands of everyday messages (label: ``none``), each also in seeded typing
noise (:mod:`opastin.perturb`). Its probability that a message is *not*
everyday is compared with a threshold set for high recall; above it, the bot
asks one direct safety question rather than giving the numbers outright.

Training uses scikit-learn (in the Rasa process, at ``rasa train``). The fitted
model is then kept as plain data (:class:`~opastin.linear_text.LinearTextModel`)
and scored in plain Python, with the same result: the chat gateway loads
neither scikit-learn, SciPy nor NumPy (about 90 MB less), and the file in the
model (:data:`FILE_NAME`) is read without pickle, so opening it cannot run code.

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
from typing import IO, TYPE_CHECKING

from opastin.linear_text import LinearTextModel, tfidf_features
from opastin.perturb import perturb

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

EVERYDAY = "none"
DEFAULT_THRESHOLD = 0.6
# Typing noise added to every training message (each once, seeded).
TRAINING_NOISE = ("hurried", "spoken", "drop", "double", "fold", "swap")
FILE_NAME = "learned_emergency_detector.zip"
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)


@dataclass(frozen=True)
class LearnedScore:
    """How likely a message is an emergency, and which level the classifier leans to."""

    probability: float
    level: str


def fit_pipeline(texts: Sequence[str], labels: Sequence[str], seed: int) -> Pipeline:
    """Fit the scikit-learn pipeline the model is made from (imported here: training only)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    classifier = LogisticRegression(C=8.0, class_weight="balanced", max_iter=3000, random_state=seed)
    pipeline = Pipeline([("features", tfidf_features(CHAR_NGRAMS, WORD_NGRAMS)), ("classifier", classifier)])
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
        self.model.save(path, {"threshold": self.threshold})

    @classmethod
    def load(cls, source: Path | IO[bytes]) -> LearnedDetector:
        """Read a detector written by :meth:`save` (``ValueError`` when it is not one)."""
        model, settings = LinearTextModel.load(source, "a learned emergency detector")
        if "threshold" not in settings:
            raise ValueError("not a learned emergency detector: no threshold")
        return cls(model, settings["threshold"])


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
