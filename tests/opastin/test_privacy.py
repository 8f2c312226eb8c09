"""Masking personal identity codes (henkilötunnus) in every form people type them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opastin.privacy import HETU_MASK, contains_hetu, mask_hetu, mask_optional

CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
SIGNS = {1800: "+", 1900: "-YXWVU", 2000: "ABCDEF"}


def check_char(date: dt.date, individual: int) -> str:
    """The check character of a code born on ``date`` with ``individual``."""
    return CHECK_CHARS[int(f"{date:%d%m%y}{individual:03d}") % 31]


@pytest.mark.parametrize(
    "code",
    [
        "131052-308T",  # classic example code
        "131052-308t",  # lower-case check character
        "131052308T",  # no separator
        "131052 308T",  # a space
        "131052–308T",  # en dash (phone autocorrect)
        "131052—308T",  # em dash
        "131052 - 308T",  # spaced hyphen
        "010594Y9032",  # 2023 century sign Y, temporary individual number
        "010594y9032",
        "020516C903K",  # 2000s, new sign C
        "010101A901S",  # 2000s, classic sign A
        "150399U902R",  # 1900s, new sign U
        "290200B912R",  # leap day, new sign B
        "290200912R",  # leap day without a sign: valid only in the 2000s
    ],
)
def test_valid_codes_are_masked(code: str) -> None:
    text = f"Minun hetu on {code}, kiitos."
    assert mask_hetu(text) == f"Minun hetu on {HETU_MASK}, kiitos."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hetu:131052-308T.", f"hetu:{HETU_MASK}."),
        ("(131052308T)", f"({HETU_MASK})"),
        ("x131052-308Tx", f"x{HETU_MASK}x"),
        ("hetu131052-308T", f"hetu{HETU_MASK}"),
    ],
)
def test_codes_glued_to_words_or_punctuation_are_masked(text: str, expected: str) -> None:
    assert mask_hetu(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "131052-308U",  # wrong check character
        "311399-1234",  # no such date
        "Soitathan numeroon 040-1234567",
        "Aika 12.03.2026 klo 12:30",
        "Laskun viite 1310523081",
        "11310523 08T",  # digits around, not a code
        "",
    ],
)
def test_lookalikes_are_kept(text: str) -> None:
    assert mask_hetu(text) == text


def test_several_codes_in_one_text() -> None:
    text = "Lapsen 020516C903K ja minun 131052 308T"
    assert mask_hetu(text) == f"Lapsen {HETU_MASK} ja minun {HETU_MASK}"


def test_optional_text_and_detection() -> None:
    assert mask_optional(None) is None
    assert mask_optional("131052-308T") == HETU_MASK
    assert contains_hetu("hetu 131052308T") and not contains_hetu("puhelin 040 123 4567")


@st.composite
def written_codes(draw: st.DrawFn) -> str:
    """A valid identity code, written in one of the ways residents type them."""
    born = draw(st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date(2025, 12, 31)))
    individual = draw(st.integers(min_value=2, max_value=999))
    century = 1800 if born.year < 1900 else 1900 if born.year < 2000 else 2000
    check = check_char(born, individual)
    signs = list(SIGNS[century])
    if century != 1800:  # without a sign, the check character still holds
        signs += ["", " ", "\u2013", "\u2014", " - "]
    sign = draw(st.sampled_from(signs))
    code = f"{born:%d%m%y}{sign}{individual:03d}{check}"
    return code.lower() if draw(st.booleans()) else code


FINNISH_WORDS = st.sampled_from(
    ["minun", "hetu", "on", "lapsen", "tunnus", "kiitos", "äidin", "soittakaa", "ajan", "varaus", "ö", "x"]
)
GLUE = st.sampled_from(["", " ", ": ", ", ", "(", ")", ".", "\n", "hetu:", " nro "])


@settings(max_examples=400, deadline=None)
@given(
    before=st.lists(FINNISH_WORDS, max_size=4).map(" ".join),
    left=GLUE,
    code=written_codes(),
    right=GLUE,
    after=st.lists(FINNISH_WORDS, max_size=4).map(" ".join),
)
def test_every_valid_code_in_any_form_is_masked(
    before: str, left: str, code: str, right: str, after: str
) -> None:
    text = f"{before}{left}{code}{right}{after}"
    masked = mask_hetu(text)
    assert HETU_MASK in masked
    digits = re.sub(r"\D", "", code)
    assert digits not in re.sub(r"\D", "", masked.replace(HETU_MASK, " "))
    assert masked.startswith(f"{before}{left}") and masked.endswith(f"{right}{after}")
