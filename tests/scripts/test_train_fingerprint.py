"""Training is skipped only when nothing that training reads has changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts_loader import load_script

train = load_script("train")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A minimal project tree with a stored model, as the train script sees it."""
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("language: fi\n")
    (tmp_path / "domain.yml").write_text("intents: [greet]\n")
    (tmp_path / "data" / "nlu" / "greet.yml").write_text("- hei\n")
    (tmp_path / "models").mkdir()
    monkeypatch.setattr(train, "ROOT", tmp_path)
    monkeypatch.setattr(train, "MODEL", tmp_path / "models" / "opastin.tar.gz")
    monkeypatch.setattr(train, "FINGERPRINT", tmp_path / "models" / "opastin.fingerprint")
    train.MODEL.write_bytes(b"model")
    train.FINGERPRINT.write_text(train.fingerprint())
    return tmp_path


def test_unchanged_inputs_need_no_training(project: Path) -> None:
    assert train.up_to_date(train.fingerprint())


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "data" / "nlu" / "greet.yml").write_text("- moi\n"),
        lambda root: (root / "data" / "nlu" / "new.yml").write_text("- uusi\n"),
        lambda root: (root / "config.yml").write_text("language: sv\n"),
        lambda root: (root / "data" / "nlu" / "greet.yml").rename(root / "data" / "nlu" / "hello.yml"),
    ],
    ids=["edited example", "new file", "edited config", "renamed file"],
)
def test_any_change_to_training_inputs_means_retraining(project: Path, change) -> None:
    change(project)
    assert not train.up_to_date(train.fingerprint())


def test_a_missing_model_means_training_even_with_a_fingerprint(project: Path) -> None:
    train.MODEL.unlink()
    assert not train.up_to_date(train.fingerprint())


def test_python_caches_do_not_count(project: Path) -> None:
    (project / "rasa_addons" / "__pycache__").mkdir(parents=True)
    before = train.fingerprint()
    (project / "rasa_addons" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert train.fingerprint() == before


@pytest.mark.parametrize(
    "path",
    ["data/teams.yml", "data/routes.yml", "data/messages/fi.yml", "data/messages/sv.yml"],
)
def test_content_read_at_run_time_needs_no_training(project: Path, path: str) -> None:
    before = train.fingerprint()
    (project / path).parent.mkdir(parents=True, exist_ok=True)
    (project / path).write_text("edited: true\n")
    assert train.fingerprint() == before
