"""Messages without Finnish words get their own intent before the dialogue sees them."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from rasa_addons.input_guard import InputGuard, classify_input


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "👍",
        "???",
        "12345",
        "<br><p></p>",
        "asdfghjkl",
        "xjdkeowp fkdlsie",
        "qwerty",
        "aaaaaaa",
    ],
)
def test_no_words_or_random_letters_are_unclear(text):
    assert classify_input(text) == "unclear_input"


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "I need a doctor",
        "can i talk to a nurse please",
        "Hej",
        "Jag behöver hjälp med min tandläkare",
        "talar du svenska",
        "Help me please my father has chest pain",
        "I want to book an appointment with a doctor",
    ],
)
def test_english_and_swedish_are_other_language(text):
    assert classify_input(text) == "other_language"


@pytest.mark.parametrize(
    "text",
    [
        "I need dentist aika, mun paikka tippui pois hampaasta",
        "Need sairauslomatodistus for my work, olin kuumeessa koko viikon",
        "I am a student and my money ran out, voinko saada toimeentulotuki sähkölaskuun?",
    ],
)
def test_finnish_mixed_with_english_goes_to_the_classifier(text):
    assert classify_input(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "mulla on hammassärky",
        "onks neuvola auki",
        "hammas särkee",
        "kotihoito",
        "tk",
        "ok",
        "en",
        "hmm",
        "<b>hammaslääkäri</b>",
        "sairauslomatodistus",
        "työkyvyttömyyseläke hakemus",
        "numero please, haluan soittaa",
        "hengästyttää",
        "mun pojalla on korva kipee",
        "äidin kotihoito " * 300,
    ],
    ids=lambda text: text[:30],
)
def test_finnish_goes_to_the_classifier(text):
    assert classify_input(text) is None


def test_component_overrides_the_intent_and_ranking():
    message = Message.build(text="I need a doctor")
    message.set("intent", {"name": "health_centre_appointment", "confidence": 0.7}, add_to_output=True)
    message.set(
        "intent_ranking", [{"name": "health_centre_appointment", "confidence": 0.7}], add_to_output=True
    )

    InputGuard().process([message])

    assert message.get("intent") == {"name": "other_language", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == [
        "other_language",
        "health_centre_appointment",
    ]


def test_component_leaves_finnish_alone():
    message = Message.build(text="hammas särkee")
    message.set("intent", {"name": "dental_care", "confidence": 0.9}, add_to_output=True)
    InputGuard().process([message])
    assert message.get("intent") == {"name": "dental_care", "confidence": 0.9}


@pytest.mark.parametrize(
    "text",
    ["kiitos moi", "kiitos, öitä", "okei kiitti, moi", "kiitos paljon ja heippa",
     "ok kiitos, menen nukkumaan. hyvää yötä", "hyvää illanjatkoa", "moi moi", "no niin, hei hei",
     "moi kiitos", "hei ja kiitos paljon", "kiitos, hej då"],
)  # fmt: skip
def test_leave_taking_is_a_goodbye(text):
    assert classify_input(text) == "goodbye"


@pytest.mark.parametrize(
    "text", ["heippa, mulla on kysymys hammashoidosta", "kiitos, mutta hei vielä yksi juttu"]
)
def test_a_greeting_or_a_longer_message_is_left_to_the_classifier(text):
    assert classify_input(text) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [("moi", "greet"), ("Hei!", "greet"), ("ok soitan sinne, kiitos", "thank"), ("ok kiitos", "thank"),
     ("kiitos, mä kokeilen sitä chattia", "thank"), ("kiitos. mä soitan sinne", "thank"),
     ("kiitos, jätän viestin", None), ("kiitos, soitanko sinne?", None)],
)  # fmt: skip
def test_bare_greetings_and_closing_thanks(text, intent):
    assert classify_input(text) == intent


def test_a_need_with_a_polite_thanks_is_left_to_the_classifier():
    assert classify_input("tarviin hammaslääkärin kiitos") is None


def test_a_long_message_taken_for_small_talk_gets_its_real_intent():
    text = "moi. äidin kotihoito käy aamuisin vain kymmenen minuuttia eikä äiti ehdi syödä"
    message = Message(data={"text": text})
    message.set("intent", {"name": "goodbye", "confidence": 0.5})
    ranking = [{"name": "goodbye", "confidence": 0.5}, {"name": "elderly_services", "confidence": 0.23}]
    message.set("intent_ranking", ranking)
    InputGuard().process([message])
    assert message.get("intent")["name"] == "elderly_services"
