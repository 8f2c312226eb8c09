"""Which intent a message has: a linear classifier over the folded text and its base forms.

The features are those of :mod:`opastin.linear_text`: character n-grams (2–5,
inside word boundaries) and words of the folded text (lower case, ä/ö/å as
a/o/a, so a message typed without Finnish letters has the same features),
and Voikko's base forms of its words (a typo one edit away read as the word
meant). A linear support vector machine separates the intents, one against
the rest, with classes weighted by their size.

Its scores become probabilities through a softmax whose temperature is fitted
to held-back training folds (the one number that makes the probabilities
honest on messages the model has not seen), so the fallback threshold and the
answer thresholds downstream read them as confidences.

On the project's held-out sets this read 4 points more messages right than
Rasa's DIET with the same training data, and trains in seconds (docs/nlu.md).
No Rasa here: ``rasa_addons.intent_classifier`` trains and loads it in the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from opastin.linear_text import LinearTextModel, base_form_terms, normalise, tfidf_features

if TYPE_CHECKING:
    import numpy.typing as npt
    from sklearn.pipeline import Pipeline

FILE_NAME = "intent_classifier.zip"
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
C = 0.5  # the SVM's regularisation: flat between 0.25 and 1 on the held-out sets
CALIBRATION_FOLDS = 3
TEMPERATURES = tuple(0.5 * 1.15**step for step in range(40))  # 0.5 … about 120


def fit_pipeline(texts: Sequence[str], labels: Sequence[str]) -> Pipeline:
    """Fit the scikit-learn pipeline (imported here: training only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    base_forms = TfidfVectorizer(analyzer=lambda text: base_form_terms(normalise(text)), sublinear_tf=True)
    features = tfidf_features(CHAR_NGRAMS, WORD_NGRAMS, ("base_forms", base_forms))
    classifier = LinearSVC(C=C, class_weight="balanced", random_state=0)
    pipeline = Pipeline([("features", features), ("classifier", classifier)])
    pipeline.fit(list(texts), list(labels))
    return pipeline


def fitted_temperature(scores: npt.NDArray[Any], truth: Sequence[int]) -> float:
    """The softmax temperature (a multiplier of the scores) that makes ``scores`` the most
    likely explanation of the true classes ``truth`` (the smallest mean log loss)."""
    import numpy as np

    rows = np.arange(len(truth))

    def log_loss(temperature: float) -> float:
        scaled = scores * temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_totals = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_totals - scaled[rows, list(truth)]))

    return min(TEMPERATURES, key=log_loss)


class IntentModel:
    """A trained intent classifier: ranks the intents of a message by probability."""

    def __init__(self, model: LinearTextModel, temperature: float) -> None:
        """Wrap a fitted model and its softmax temperature."""
        import numpy as np

        self.model = model
        self.temperature = temperature
        coef = np.frombuffer(model.coef, dtype=np.float64).reshape(-1, model.width)
        intercept = np.frombuffer(model.intercept, dtype=np.float64)
        if len(intercept) == 1:  # two classes: one row of scores for the second
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        self._coef, self._intercept = coef, intercept

    @property
    def intents(self) -> tuple[str, ...]:
        """The intents it knows, in the order of its classes."""
        return self.model.classes

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str]) -> IntentModel:
        """Fit on ``texts`` labelled with their intents; the temperature from held-back folds."""
        if len(set(labels)) < 2:
            raise ValueError("the intent classifier needs examples of two intents or more")
        temperature = calibrate(texts, labels)
        return cls(LinearTextModel.from_pipeline(fit_pipeline(texts, labels)), temperature)

    def ranking(self, text: str) -> list[tuple[str, float]]:
        """Every intent with its probability for ``text``, the most likely first."""
        import numpy as np

        columns, weights = self.model.features(text)
        scores = self._intercept + self._coef[:, columns] @ np.asarray(weights, dtype=np.float64)
        scaled = (scores - scores.max()) * self.temperature
        exponentials = np.exp(scaled)
        probabilities = exponentials / exponentials.sum()
        order = np.argsort(-probabilities, kind="stable")
        return [(self.model.classes[index], float(probabilities[index])) for index in order]

    def save(self, path: Path) -> None:
        """Write the model and temperature to ``path`` (a zip of JSON, text and raw numbers)."""
        self.model.save(path, {"temperature": self.temperature})

    @classmethod
    def load(cls, source: Path | IO[bytes]) -> IntentModel:
        """Read a model written by :meth:`save` (``ValueError`` when it is not one)."""
        model, settings = LinearTextModel.load(source, "an intent classifier")
        temperature = settings.get("temperature", math.nan)
        if not math.isfinite(temperature) or temperature <= 0:
            raise ValueError("not an intent classifier: no temperature")
        return cls(model, temperature)


def calibrate(texts: Sequence[str], labels: Sequence[str]) -> float:
    """The temperature fitted on out-of-fold scores (:data:`CALIBRATION_FOLDS` stratified folds;
    an intent with fewer examples than folds is scored in the folds it has)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    classes = sorted(set(labels))
    index = {label: position for position, label in enumerate(classes)}
    truth = np.array([index[label] for label in labels])
    counts = np.bincount(truth, minlength=len(classes))
    folds = min(CALIBRATION_FOLDS, int(counts.max()))
    scores = np.full((len(texts), len(classes)), -10.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=42)
    for train_rows, test_rows in splitter.split(np.zeros(len(truth)), truth):
        pipeline = fit_pipeline([texts[i] for i in train_rows], [labels[i] for i in train_rows])
        known: Any = [index[label] for label in pipeline.classes_]
        decided = pipeline.decision_function([texts[i] for i in test_rows])
        if decided.ndim == 1:  # two classes: one score for the second
            decided = np.stack([-decided, decided], axis=1)
        scores[np.ix_(test_rows, known)] = decided
    return fitted_temperature(scores, list(truth))
