"""Feedback answers as plain functions: a rating 1–5 from a button or the resident's words, a comment."""

from __future__ import annotations

import re

from actions.contact_form import clean_message
from opastin.routes import normalise

MAX_COMMENT_CHARS = 2000

_NUMBER_WORDS = {"yksi": 1, "yks": 1, "kaksi": 2, "kaks": 2, "kolme": 3, "nelja": 4, "viisi": 5, "viis": 5}
_DIGIT = re.compile(r"(?<![\d,.])([1-5])(?:\s*/\s*5)?(?![\d,.])")
_NO_COMMENT = {"ei", "ei kommenttia", "ei kiitos", "ohita", "ei mitaan", "ei muuta", "ei ole", "-", "en"}


def parse_rating(text: str) -> int | None:
    """1–5 from a digit ("4", "4/5") or a number word ("viisi"), else ``None``.

    A message with two different ratings ("3 tai 4") is unclear and gives ``None``.
    """
    found = {int(digit) for digit in _DIGIT.findall(text)}
    found |= {value for word, value in _NUMBER_WORDS.items() if word in normalise(text).split()}
    return found.pop() if len(found) == 1 else None


def parse_comment(text: str) -> str:
    """The comment with identity codes masked, cut to the stored length; "" for "ei kommenttia"."""
    if normalise(text) in _NO_COMMENT or text.strip() in _NO_COMMENT:
        return ""
    return clean_message(text)[:MAX_COMMENT_CHARS]
