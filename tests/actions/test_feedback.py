"""Reading a rating and a comment from what the resident sends."""

from __future__ import annotations

import pytest

from actions.feedback import parse_comment, parse_rating
from opastin.privacy import HETU_MASK


@pytest.mark.parametrize(
    ("answer", "rating"),
    [("5", 5), ("4/5", 4), (" 1 ", 1), ("annan kolme", 3), ("viis", 5), ("Neljä", 4), ("arvosana 2", 2)],
)
def test_ratings_from_buttons_and_words(answer, rating):
    assert parse_rating(answer) == rating


@pytest.mark.parametrize("answer", ["6", "0", "3 tai 4", "hyvä", "", "3,5", "10"])
def test_unclear_ratings(answer):
    assert parse_rating(answer) is None


@pytest.mark.parametrize("answer", ["ei kommenttia", "Ei", "ohita", "ei mitään", "-"])
def test_no_comment(answer):
    assert parse_comment(answer) == ""


def test_a_comment_is_kept_masked_and_cut():
    assert parse_comment("Hyvä palvelu, hetu 131052-308T") == f"Hyvä palvelu, hetu {HETU_MASK}"
    assert len(parse_comment("x" * 3000)) == 2000
