"""Masking personal data before residents' words are reused: names, numbers, addresses, e-mails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opastin.redact import (
    ADDRESS,
    EMAIL,
    IDENTITY_CODE,
    MASK_LEFT,
    NAME,
    NUMBER,
    Redactor,
)

REDACTOR = Redactor(vocabulary=frozenset({"omaolo", "kela"}))


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("Soita Mikolle numeroon 040 123 4567", "Soita [nimi] numeroon [numero]"),
        ("mun sposti on maija.meikalainen@example.fi", "mun sposti on [sähköposti]"),
        ("asun Kauppakadulla 12 B 4, 00100 Helsinki", "asun [osoite], [numero] Helsinki"),
        ("Koulutie 5 a 3 on osoitteeni", "[osoite] on osoitteeni"),
        ("Storgatan 3, Vaasa", "[osoite], Vaasa"),
        ("matti virtanen tässä, hetu 131052-308T", "matti [nimi] tässä, hetu ******-****"),
        ("Tyttäreni Tuuli on kipeä", "Tyttäreni [nimi] on kipeä"),  # a name that is also a word
        ("Haluan puhua Anna-Liisa Mäkiselle", "Haluan puhua [nimi] [nimi]"),
        ("Nieminen soitti eilen", "[nimi] soitti eilen"),  # a surname Voikko knows as a place
        ("Hei! Onko Sari töissä?", "Hei! Onko [nimi] töissä?"),
        ("asiakasnumero 1234567", "asiakasnumero [numero]"),
        ("+358 40 1234567 soita", "[numero] soita"),
    ],
)
def test_personal_data_is_masked(written: str, masked: str) -> None:
    assert REDACTOR.redact(written) == masked


@pytest.mark.parametrize(
    "everyday",
    [
        "Lapsi 3v, kuumetta 39,5 ja klo 10-12 vastaanotto",  # ages, temperatures and times stay
        "potilastietoja en saa Omaolosta",  # not an address, not a name
        "miten Omaolo toimii",  # the service's own words
        "Kuopiossa asuva mummo tarvitsee kotihoitoa",  # a town is not a person
        "Tuuli puhaltaa ja selkään sattuu",  # a name at the start of a sentence that is also a word
        "Matti on kipeä",  # first word, also a noun: left for the editor
        "tarvitsen 2 x 500 mg buranaa",
    ],
)
def test_everyday_words_stay(everyday: str) -> None:
    assert REDACTOR.redact(everyday) == everyday
    assert REDACTOR.findings(everyday) == []


def test_findings_name_each_kind_and_the_masks_left() -> None:
    text = "Mikko, 131052-308T, mikko@example.fi, Koulukatu 3, 040 765 4321"
    assert REDACTOR.findings(text) == [IDENTITY_CODE, EMAIL, ADDRESS, NUMBER, NAME]
    assert REDACTOR.findings(REDACTOR.redact(text)) == [MASK_LEFT]
    assert REDACTOR.findings("Hammaslääkärille pitäisi päästä") == []


WORDS = st.sampled_from(
    ["minulla", "on", "kipeä", "Mikko", "Virtaselle", "040 123 4567", "Koulutie 4", "sari", "ja", "hammas",
     "a@b.fi", "131052-308T", "Tuuli", "päivää", "3", "Kauppakadulla"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=12))
def test_masking_is_idempotent_and_leaves_only_masks(words: list[str]) -> None:
    masked = REDACTOR.redact(" ".join(words))
    assert REDACTOR.redact(masked) == masked
    assert REDACTOR.findings(masked) in ([], [MASK_LEFT])
