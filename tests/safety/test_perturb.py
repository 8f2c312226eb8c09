"""Typing noise is seeded, documented and does what its name says."""

from __future__ import annotations

import pytest

from opastin.perturb import PERTURBATIONS, perturb

TEXT = "Minulla on kova rintakipu, ja hän ei ole hereillä! Mitä teen?"


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_each_perturbation_is_deterministic(name: str) -> None:
    assert perturb(TEXT, name, seed=3) == perturb(TEXT, name, seed=3)


def test_case_letters_and_punctuation() -> None:
    assert perturb(TEXT, "lowercase") == TEXT.lower()
    assert "ä" not in perturb(TEXT, "fold") and "Mita" in perturb(TEXT, "fold")
    assert perturb("Åsa ja Örkki", "fold") == "Asa ja Orkki"
    assert perturb(TEXT, "nopunct") == "Minulla on kova rintakipu ja hän ei ole hereillä Mitä teen"


@pytest.mark.parametrize(("name", "length_change"), [("swap", 0), ("drop", -1), ("double", 1)])
def test_one_word_of_five_or_more_letters_changes_by_one_edit(name: str, length_change: int) -> None:
    words, changed = TEXT.split(), perturb(TEXT, name).split()
    different = [(a, b) for a, b in zip(words, changed, strict=True) if a != b]
    assert len(different) == 1
    before, after = different[0]
    assert len(before) >= 5 and len(after) == len(before) + length_change
    if name == "swap":
        assert sorted(before) == sorted(after)


def test_short_words_are_never_mangled() -> None:
    assert perturb("ei oo", "swap") == "ei oo"


def test_spoken_forms() -> None:
    assert perturb("Minulla on kipeä käsi, ei ole lääkettä", "spoken") == "Mul on kipee käsi, ei oo lääkettä"


def test_hurried_combines_everything() -> None:
    hurried = perturb(TEXT, "hurried")
    assert hurried == hurried.lower() and "ä" not in hurried and "," not in hurried
    assert hurried != perturb(TEXT, "fold").lower()


def test_unknown_perturbation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(TEXT, "shout")
