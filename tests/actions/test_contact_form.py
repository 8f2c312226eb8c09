"""The contact form's answer rules: phone numbers, e-mail addresses, yes/no, identity codes."""

from __future__ import annotations

import pytest

from actions import contact_form
from actions.actions_contact import describes_the_matter, matter_words
from opastin.privacy import HETU_MASK

VALID_HETU = "131052-308T"


@pytest.mark.parametrize(
    ("typed", "national"),
    [
        ("0401234567", "0401234567"),
        ("040 123 4567", "0401234567"),
        ("040-1234567", "0401234567"),
        ("+358 40 123 4567", "0401234567"),
        ("+358401234567", "0401234567"),
        ("00358 50 765 4321", "0507654321"),
        ("(015) 211 8000", "0152118000"),
        ("09 1234 567", "091234567"),
        ("sori, se on 040 1234567", "0401234567"),
        ("numero on 050-765 4321 kiitos", "0507654321"),
        ("soittakaa mieluummin 15 jälkeen, numero 044 512 0876", "0445120876"),  # a time is no number
        ("soita klo 9-11 numeroon 040 1234567", "0401234567"),
        ("040 339 2011, tai eiku 2010. joo 2010 se on", "0403392010"),  # the ending corrected
    ],
)
def test_finnish_phone_numbers_in_the_ways_people_write_them(typed, national):
    assert contact_form.normalise_phone(typed) == national


@pytest.mark.parametrize(
    "typed",
    [
        "12345",
        "401234567",
        "+46 70 123 45 67",
        "040 123 4567 tai 050",
        "soita minulle",
        "0000000",
        "0" * 14,
        "040 12345",
        "040 1234567 tai 050 7654321",
        "040 123 4567 eiku 050 123 4567",
    ],
)
def test_what_is_not_a_finnish_phone_number(typed):
    assert contact_form.normalise_phone(typed) is None


def test_a_mobile_number_missing_digits_is_told_apart():
    assert contact_form.phone_too_short("040 12345")
    assert not contact_form.phone_too_short("040 1234567")
    assert not contact_form.phone_too_short("(015) 211 8000")  # a landline: shorter numbers exist
    assert not contact_form.phone_too_short("soita minulle")


def test_a_foreign_number_is_told_apart():
    assert contact_form.foreign_phone("+46 70 123 4567, asun tukholmassa")
    assert not contact_form.foreign_phone("040 1234567")
    assert not contact_form.foreign_phone("soita minulle")


def test_numbers_are_read_back_grouped():
    assert contact_form.format_phone("0401234567") == "040 123 4567"
    assert contact_form.format_phone("0507654321") == "050 765 4321"
    assert contact_form.format_phone("0152118000") == "015 211 8000"
    assert contact_form.readable_contact("phone", "0401234567") == "puhelimitse numeroon 040 123 4567"


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        ("maija.meikalainen@Esimerkki.FI", "maija.meikalainen@esimerkki.fi"),
        (" <liisa@posti.fi>. ", "liisa@posti.fi"),
        ("no kyllä sitten sähköpostiin: liisa@posti.fi, kiitos", "liisa@posti.fi"),
    ],
)
def test_email_addresses_are_normalised(typed, address):
    assert contact_form.normalise_email(typed) == address


@pytest.mark.parametrize(
    "typed", ["maija@", "maija at posti.fi", "maija@posti", "maija@posti..fi", "a@posti.fi tai b@posti.fi"]
)
def test_what_is_not_an_email_address(typed):
    assert contact_form.normalise_email(typed) is None


@pytest.mark.parametrize(
    ("answer", "method"),
    [
        ("puhelimitse", "phone"),
        ("Soittakaa mulle", "phone"),
        ("puhelimella kiitos", "phone"),
        ("sähköpostitse", "email"),
        ("sposti", "email"),
        ("s-postilla", "email"),
        ("e-mail", "email"),
        ("en tiedä", None),
    ],
)
def test_the_contact_method_is_read_from_the_answer(answer, method):
    assert contact_form.contact_method(answer) == method


def test_a_number_or_an_address_typed_instead_of_the_method_is_taken_as_both():
    assert contact_form.direct_contact("040 123 4567") == ("phone", "0401234567")
    assert contact_form.direct_contact("liisa@posti.fi") == ("email", "liisa@posti.fi")
    assert contact_form.direct_contact("puhelimitse") is None


@pytest.mark.parametrize(
    ("answer", "meaning"),
    [
        ("kyllä", True),
        ("Kyllä, saa tallentaa", True),
        ("joo", True),
        ("saa", True),
        ("ei", False),
        ("En anna lupaa", False),
        ("ei kiitos", False),
        ("mitä tarkoitat?", None),
        ("no kyllä", True),
        ("niin joo kiitos", True),
        ("laita menemään", True),
        ("kyl se käy", True),
        ("en mä sittenkään", False),
        ("älä lähetä", False),
        ("ei kun anna olla", False),
        ("no", None),
        ("nyt on oikein, lähetä vaan", True),
        ("en tiedä, lähetä", False),
        ("mitä jos lähetän myöhemmin uudestaan, ei", None),
        ("lähetä... ei kun peru koko juttu", False),
        ("kyllä, anna mennä", True),
        ("Nyt se on oikein. Lähettäkää se, olkaa hyvä.", True),  # the yes in a sentence of its own
        ("Ei. Lähetä vaan.", False),
    ],
)
def test_yes_or_no(answer, meaning):
    assert contact_form.yes_or_no(answer) is meaning


@pytest.mark.parametrize(
    ("answer", "correction"),
    [
        ("numero meni väärin", True),
        ("korjaa se osoite", True),
        ("vaihda sähköpostiin", True),
        ("kyllä", False),
    ],
)
def test_a_wish_to_correct_is_recognised(answer, correction):
    assert contact_form.wants_correction(answer) is correction


def test_an_identity_code_in_the_message_is_masked():
    cleaned = contact_form.clean_message(f" Hetuni on {VALID_HETU}, soittakaa reseptistä ")
    assert cleaned == f"Hetuni on {HETU_MASK}, soittakaa reseptistä"


def test_a_date_or_phone_number_is_not_taken_for_an_identity_code():
    cleaned = contact_form.clean_message("Aika oli 131052 ja numero 040-1234567")
    assert cleaned == "Aika oli 131052 ja numero 040-1234567"


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("Lapsen rokotusajan siirto", None),
        ("ok", "too_short"),
        ("1234567890123", "too_short"),
        ("a" * 4001, "too_long"),
        ("no jätän sit viestin", "too_short"),
        ("haluan jättää viestin neuvolaan", None),
    ],
)
def test_message_length_and_content(message, problem):
    assert contact_form.message_problem(message) == problem


def test_the_request_body_masks_identity_codes_and_carries_the_request_id():
    body = contact_form.contact_request_body(
        team="neuvola",
        topic="Lastenneuvola",
        message=f"Soittakaa, hetu {VALID_HETU}",
        method="phone",
        value="0401234567",
        conversation_id="w-abc",
        request_id="req-12345678",
    )
    assert body == {
        "request_id": "req-12345678",
        "team": "neuvola",
        "topic": "Lastenneuvola",
        "message": f"Soittakaa, hetu {HETU_MASK}",
        "contact_method": "phone",
        "contact_value": "0401234567",
        "consent": True,
        "conversation_id": "w-abc",
    }


@pytest.mark.parametrize(
    ("answer", "taken_back"),
    [("ei kun siis neuvola", True), ("eiku hammashoito", True), ("tarkoitin sähköpostia", True),
     ("neuvola", False), ("Haluaisin kysyä lapseni rokotuksista", False)],
)  # fmt: skip
def test_taking_back_an_answer(answer, taken_back):
    assert contact_form.takes_back(answer) is taken_back


@pytest.mark.parametrize(
    ("answer", "changed"),
    [("muuta viestiä", True), ("viesti meni väärin", True), ("haluun vaihtaa sen asian", True),
     ("numero meni väärin", False), ("viesti on hyvä", False)],
)  # fmt: skip
def test_wanting_the_message_changed(answer, changed):
    assert contact_form.wants_message_changed(answer) is changed


@pytest.mark.parametrize(
    ("answer", "note"),
    [("ei kun muuta viestiin kortisonikuuri", "ei kun muuta viestiin kortisonikuuri"),
     ("muuta viestiin: kortisoni, ei antibiootti", "muuta viestiin: kortisoni, ei antibiootti"),
     ("muuta viestiä", None), ("viesti meni väärin", None), ("numero meni väärin, se on 0401234567", None)],
)  # fmt: skip
def test_a_change_of_the_message_that_says_the_change(answer, note):
    assert contact_form.message_change_with_content(answer) == note


@pytest.mark.parametrize(
    ("answer", "current", "switched"),
    [("sähköpostiin mieluummin", "phone", "email"), ("ei kun soittakaa", "email", "phone"),
     ("sähköpostiin", "email", None), ("liisa@posti.fi", "phone", None), ("040 1234567", "phone", None),
     ("en mä tiedä kumpi", "phone", None)],
)  # fmt: skip
def test_switching_the_contact_method(answer, current, switched):
    assert contact_form.other_method(answer, current) == switched


@pytest.mark.parametrize(
    ("answer", "stops"),
    [("eiku antaa olla, mä soitan itse huomenna aamulla", True), ("anteeks, en jaksa nyt. peru tää", True),
     ("ei mulla oo puhelinta tässä nyt. unohda koko homma", True), ("oota... en mä sittenkään", True),
     ("Haluaisin kysyä perustoimeentulotuesta", False), ("en mä sittenkään, laita sähköpostiin", False),
     ("anna olla " + "sana " * 12, False)],
)  # fmt: skip
def test_stopping_the_form_in_own_words(answer, stops):
    assert contact_form.wants_to_stop(answer) is stops


@pytest.mark.parametrize(
    ("answer", "addition"),
    [
        ("laita viel viestiin et lääkkeet loppuu perjantaina", "lääkkeet loppuu perjantaina"),
        ("lisää viestiin: olen tavattavissa aamuisin", "olen tavattavissa aamuisin"),
        ("Voisitko lisätä viestiin, että numero on työpuhelin", "numero on työpuhelin"),
        ("lisää viestiin", None),
        ("muuta viestiä", None),
        ("laita menemään", None),
    ],
)
def test_an_addition_to_the_message(answer, addition):
    assert contact_form.message_addition(answer) == addition


@pytest.mark.parametrize(
    ("text", "described"),
    [("se on mummon asia, ikäihmisten palvelut varmaan", False),
     ("sinne vanhuspalveluihin, palveluneuvo vai mikä se oli", False),
     ("isä ei pärjää kotona yksin enää ollenkaan", True),
     ("isällä muistisairaus, äiti omaishoitajana ja ihan loppu", True),
     ("palveluneuvoon, isän omaishoidon tuki", True),
     ("palveluneuvolle kai, koskee isän palveluasumista", False),
     ("terveysneuvoon kai, tai sinne terveyskeskukseen", False),
     ("lapsen rokotus", False)],
)  # fmt: skip
def test_a_team_named_with_fillers_is_no_description_of_the_matter(text, described):
    assert describes_the_matter(text) is described


@pytest.mark.parametrize(
    ("text", "words"),
    [("isän kotihoito, äiti on ihan väsyny", ["kotihoito", "aiti", "vasyny"]),
     ("hammashoitoon", ["hammashoitoon"]),
     ("palveluneuvoon", [])],
)  # fmt: skip
def test_beside_a_team_name_its_keywords_describe_the_matter(text, words):
    assert matter_words(text, keywords_count=True) == words
