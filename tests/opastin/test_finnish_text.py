"""Base forms of Finnish words, spoken forms included."""

from __future__ import annotations

import pytest

from opastin.finnish_text import Lemmatizer, chat_sentences, clause_words

LEMMATIZER = Lemmatizer()
pytestmark = pytest.mark.skipif(not LEMMATIZER.available, reason="libvoikko is not installed")


@pytest.mark.parametrize(
    ("spoken", "base"),
    [("kaatu", "kaatua"), ("putos", "pudota"), ("pyörty", "pyortya"), ("oksentanu", "oksentanut")],
)
def test_spoken_past_forms_get_the_written_forms_base(spoken: str, base: str) -> None:
    assert base in LEMMATIZER.lemmas(spoken)


def test_known_words_are_not_rewritten() -> None:
    assert LEMMATIZER.lemmas("loppu") == frozenset({"loppu"})
    assert LEMMATIZER.lemmas("mulla") == frozenset()


def test_clause_words_split_at_sentence_ends_commas_and_but() -> None:
    assert clause_words("Ripuli alkoi eilen, kuumetta EI ole. Pää särkee mutta vähän") == [
        ["ripuli", "alkoi", "eilen"],
        ["kuumetta", "ei", "ole"],
        ["paa", "sarkee"],
        ["mutta", "vahan"],
    ]


def test_every_lemmatizer_shares_voikkos_answers():
    other = Lemmatizer()
    LEMMATIZER.clear_cache()
    assert other.suggested_lemmas("rintakiup") == LEMMATIZER.suggested_lemmas("rintakiup")
    shared = other._voikko
    assert shared is LEMMATIZER._voikko
    assert shared.suggestions.cache_info().misses == 1  # asked of Voikko once for both


def test_a_chat_message_splits_into_its_sentences_at_full_stops_and_marks():
    assert chat_sentences("Hän pärjää kyllä. Kiitos, hei!") == ["Hän pärjää kyllä", " Kiitos, hei"]
    assert chat_sentences("...") == []
