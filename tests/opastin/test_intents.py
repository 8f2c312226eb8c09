"""The intent classifier: features of the folded text, a fitted temperature, plain-data storage."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from opastin.finnish_text import Lemmatizer
from opastin.intents import TEMPERATURES, IntentModel, fit_pipeline, fitted_temperature
from opastin.linear_text import LinearTextModel, base_form_terms

EXAMPLES = {
    "dental_care": [
        "hammas särkee",
        "hammaslääkäriaika",
        "paikka lähti hampaasta",
        "viisaudenhammas kipeä",
        "hampaat vihlovat",
        "ientulehdus ja hammaskipu",
    ],
    "housing": [
        "vuokra on maksamatta",
        "häätö uhkaa",
        "asunto menee alta",
        "vuokranantaja irtisanoi",
        "en saa asuntoa",
        "vuokrarästit kasvavat",
    ],
    "greet": ["hei", "moi", "hyvää päivää", "terve", "moikka", "huomenta"],
}
TEXTS = [text for texts in EXAMPLES.values() for text in texts]
LABELS = [intent for intent, texts in EXAMPLES.items() for _ in texts]


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return IntentModel.train(TEXTS, LABELS)


def test_every_intent_is_ranked_with_probabilities_that_add_up_to_one(model: IntentModel) -> None:
    ranking = model.ranking("hammas on kipeä")
    assert [intent for intent, _ in ranking][0] == "dental_care"
    assert sorted(intent for intent, _ in ranking) == sorted(EXAMPLES)
    assert sum(probability for _, probability in ranking) == pytest.approx(1.0)
    assert [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)


def test_a_message_typed_without_finnish_letters_is_read_as_written(model: IntentModel) -> None:
    written = model.ranking("Vuokranantaja uhkaa häädöllä!")
    hurried = model.ranking("vuokranantaja uhkaa haadolla")
    assert written[0][0] == hurried[0][0] == "housing"
    assert written[0][1] == pytest.approx(hurried[0][1])


def test_the_plain_data_scores_as_scikit_learn_does() -> None:
    pipeline = fit_pipeline(TEXTS, LABELS)
    plain = IntentModel(LinearTextModel.from_pipeline(pipeline), temperature=1.0)
    probes = ["hammas särkee kovasti", "vuokra rästissä ja häätö", "moi vaan", "xyz"]
    expected = pipeline.decision_function(probes)
    for probe, scores in zip(probes, expected, strict=True):
        columns, weights = plain.model.features(probe)
        got = plain._intercept + plain._coef[:, columns] @ np.asarray(weights)
        assert got == pytest.approx(scores, abs=1e-9)


def test_the_temperature_is_high_for_scores_that_separate_and_low_for_noise() -> None:
    rng = np.random.default_rng(0)
    truth = list(rng.integers(0, 4, size=400))
    noise = rng.normal(size=(400, 4))
    separating = noise * 0.1
    separating[np.arange(400), truth] += 1.0
    assert fitted_temperature(separating, truth) > 20
    assert fitted_temperature(noise, truth) == min(TEMPERATURES)


def test_the_model_is_saved_and_read_back_without_pickle(model: IntentModel, tmp_path: Path) -> None:
    path = tmp_path / "intents.zip"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert not [name for name in archive.namelist() if name.endswith((".pkl", ".pickle"))]
        assert json.loads(archive.read("model.json"))["settings"] == {"temperature": model.temperature}
    loaded = IntentModel.load(path)
    assert loaded.ranking("hampaat vihloo") == model.ranking("hampaat vihloo")


def test_a_file_that_is_not_a_model_is_refused(model: IntentModel, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        IntentModel.load(io.BytesIO(b"not a zip"))
    path = tmp_path / "detector.zip"
    with zipfile.ZipFile(path, "w") as archive:
        model.model.write(archive, {"threshold": 0.5})  # another model's settings
    with pytest.raises(ValueError, match="temperature"):
        IntentModel.load(path)


def test_two_intents_are_ranked_both() -> None:
    two = IntentModel.train(TEXTS[:12], LABELS[:12])
    ranking = two.ranking("häätö")
    assert [intent for intent, _ in ranking] == ["housing", "dental_care"]
    assert ranking[0][1] > 0.5


def test_one_intent_is_not_a_classifier() -> None:
    with pytest.raises(ValueError):
        IntentModel.train(["hei", "moi"], ["greet", "greet"])


@pytest.mark.skipif(not Lemmatizer().available, reason="libvoikko is not installed")
def test_base_forms_read_inflections_folded_letters_and_typos() -> None:
    assert "hammas" in base_form_terms("hampaani")
    assert "haato" in base_form_terms("haadolla")  # häädöllä typed without ä/ö, folded
    assert "vuokra" in base_form_terms("vuokrna")  # one letter dropped: Voikko's suggestion
    assert base_form_terms("xqzv") == []
