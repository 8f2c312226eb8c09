"""The lexicon's index of words one edit away finds exactly what comparing with every word finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from opastin.safety.lexicon import EmergencyMatcher, _OneEditIndex

LETTERS = st.text(alphabet="aeiklmnorstuvyäö", min_size=1, max_size=9)


def one_edit_by_comparison(word: str, choices: list[str]) -> list[str]:
    return sorted({choice for choice in choices if OSA.distance(word, choice) <= 1})


@settings(max_examples=300, deadline=None)
@given(word=LETTERS, choices=st.lists(LETTERS, max_size=30))
def test_the_index_finds_every_choice_one_edit_away_and_nothing_else(word, choices):
    assert _OneEditIndex(choices).near(word) == one_edit_by_comparison(word, choices)


def test_a_swap_a_drop_an_addition_and_a_change_are_one_edit():
    index = _OneEditIndex(["rintakipu", "hengitys", "tajuton"])
    assert index.near("rintkaipu") == ["rintakipu"]  # neighbours swapped
    assert index.near("hengtys") == ["hengitys"]  # a letter dropped
    assert index.near("tajuttton") == []  # two letters added
    assert index.near("tajutom") == ["tajuton"]  # a letter changed
    assert index.near("tajuton", keep=lambda typed, choice: typed != choice) == []


def test_the_lexicon_reads_typos_of_its_words_and_stems():
    matcher = EmergencyMatcher.from_file("data/emergency_lexicon.yml", use_voikko=False)
    assert matcher.detect("ei hegnitä", tolerant=True) is not None


def test_a_typo_is_not_read_as_another_time_through_a_changed_letter():
    # "koulunu" (for "kouluun") is one changed letter from "koulutu*", a course: not a reason to doubt.
    matcher = EmergencyMatcher.from_file("data/emergency_lexicon.yml")
    found = matcher.detect("aiti on ollut monta paivaa juomassa ja ma hoidan pikkusiskoja en paase koulunu")
    assert found is not None and found.certain
    # A letter left out still reads as the word meant: "elvytyskurssi" typed without a letter is a course.
    course = matcher.detect("olin elvytskurssilla ja siellä puhuttiin sydänkohtauksesta")
    assert course is None or not course.certain


def test_a_changed_letter_corrects_a_word_to_match_a_rule_not_to_veto_it():
    # "lähit" is "lähti" (the sight went) as well as one changed letter from "lasit" (glasses), a veto.
    matcher = EmergencyMatcher.from_file("data/emergency_lexicon.yml")
    text = "Näkö lähit vasemmasta silmästä kokonaan noin vartti sitten"
    found = matcher.detect(text, tolerant=True)
    assert found is not None and found.rule == "sudden_sight_loss_in_one_eye"
    # A letter doubled still vetoes: the writer's wish not to wake is no one unconscious.
    wish = matcher.detect("toivon että nukahttaisin enkä heräisi", tolerant=True)
    assert wish is not None and wish.levels == ("crisis",)
