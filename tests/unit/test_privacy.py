"""Masking personal identity codes (henkilötunnus)."""

import pytest

from handoff.privacy import HETU_MASK, mask_hetu, mask_optional


@pytest.mark.parametrize(
    "code",
    [
        "131052-308T",  # classic example code
        "131052-308t",  # lower-case check character
        "010594Y9032",  # 2023 century sign Y, temporary individual number
        "010594y9032",
        "020516C903K",  # 2000s, new sign C
        "010101A901S",  # 2000s, classic sign A
        "150399U902R",  # 1900s, new sign U
        "290200B912R",  # leap day, new sign B
    ],
)
def test_valid_codes_are_masked(code: str) -> None:
    text = f"Minun hetu on {code}, kiitos."
    assert mask_hetu(text) == f"Minun hetu on {HETU_MASK}, kiitos."


@pytest.mark.parametrize(
    "text",
    [
        "131052-308U",  # wrong check character
        "311399-1234",  # no such date
        "Soitathan numeroon 040-1234567",
        "Aika 12.03.2026 klo 12:30",
        "Laskun viite 1310523080",
        "x131052-308Tx",  # part of a longer token
        "",
    ],
)
def test_lookalikes_are_kept(text: str) -> None:
    assert mask_hetu(text) == text


def test_several_codes_in_one_text() -> None:
    text = "Lapsen 020516C903K ja minun 131052-308T"
    assert mask_hetu(text) == f"Lapsen {HETU_MASK} ja minun {HETU_MASK}"


def test_optional_text() -> None:
    assert mask_optional(None) is None
    assert mask_optional("131052-308T") == HETU_MASK
