"""Bad input and routing end to end: the REST channel of a real Rasa server with the action server.

Every message, however odd, gets a sensible Finnish answer and never an error.
Needs the trained model models/opastin.tar.gz (``make train``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.stack import Rasa, action_server, post_message

pytestmark = pytest.mark.e2e

UNCLEAR = "En valitettavasti saanut viestistäsi selvää"
FINNISH_ONLY = "Palvelemme tässä chatissa suomeksi"


@pytest.fixture(scope="module")
def rasa_url(rasa: Rasa) -> Iterator[str]:
    """The session's Rasa, with an action server of this module's own (no handoff service)."""
    with action_server(rasa):
        yield rasa.url


def say(url: str, text: str, sender: str = "e2e") -> list[dict]:
    replies = post_message(url, sender, text, timeout=60)
    assert replies, f"no reply to {text[:40]!r}"
    return replies


def texts(replies: list[dict]) -> str:
    return " ".join(reply.get("text") or "" for reply in replies)


def route(replies: list[dict]) -> dict:
    """The route payload; the REST channel sends a message's text and its custom payload as two items."""
    payloads = [reply["custom"]["route"] for reply in replies if "route" in (reply.get("custom") or {})]
    assert len(payloads) == 1, replies
    return payloads[0]


@pytest.mark.parametrize(
    "message",
    ["", "   ", "😀😀😀", "👍", "asdfghjkl", "xjdkeowp fkdlsie qpwoe"],
    ids=["empty", "spaces", "emoji", "thumb", "keyboard", "random"],
)
def test_messages_without_words_get_a_finnish_request_to_rephrase(rasa_url, message):
    replies = say(rasa_url, message, sender=f"unclear-{len(message)}-{message[:3]}")
    assert UNCLEAR in texts(replies)
    assert "112" in texts(replies)
    assert not any("custom" in reply for reply in replies)


@pytest.mark.parametrize(
    "message",
    [
        "Hello, I need to see a doctor",
        "Do you speak English?",
        "Hej, jag behöver hjälp med en tid till läkaren",
    ],
)
def test_english_and_swedish_get_the_finnish_only_notice_and_the_phone_number(rasa_url, message):
    reply = texts(say(rasa_url, message, sender=f"lang-{message[:5]}"))
    assert FINNISH_ONLY in reply
    assert "015 211 8000" in reply


def test_html_and_script_are_answered_as_plain_text(rasa_url):
    replies = say(rasa_url, "<script>alert('x')</script><b>hei</b>", sender="html")
    reply = texts(replies)
    assert reply.strip()
    assert "<script>" not in reply and "alert" not in reply


def test_a_5000_character_story_is_understood(rasa_url):
    story = (
        "Mun äiti asuu yksin ja on alkanut unohdella asioita, eikä pärjää enää kotona ilman apua. " * 60
    )[:5000]
    replies = say(rasa_url, story, sender="long")
    assert route(replies) == {"type": "team", "target": "palveluneuvo", "label": "Palveluneuvo"}
    assert "Palveluneuvo" in texts(replies)


def test_clear_need_gets_its_route_in_the_first_bot_turn(rasa_url):
    replies = say(rasa_url, "mulla on hammas kipee", sender="route")
    assert (route(replies)["type"], route(replies)["target"]) == ("team", "suun_terveydenhuolto")
    # No handoff service runs in this test: no queue is promised, the phone number is given.
    assert "Suun terveydenhuolto" in texts(replies) and "015 211 8600" in texts(replies)
    assert "jonoon" not in texts(replies)


def test_symptom_gets_the_omaolo_deep_link(rasa_url):
    replies = say(rasa_url, "kurkku on tosi kipee", sender="omaolo")
    payload = route(replies)
    assert (payload["type"], payload["symptom"]) == ("omaolo", "sore_throat")
    assert payload["target"] in texts(replies)


def test_suicidal_thoughts_get_112_and_the_crisis_line(rasa_url):
    replies = say(rasa_url, "en halua enää elää", sender="crisis")
    assert route(replies) == {"type": "emergency", "target": "crisis"}
    assert "112" in texts(replies) and "09 2525 0111" in texts(replies)


def test_two_misses_lead_to_the_form_when_no_person_can_be_promised(rasa_url):
    first = say(rasa_url, "/nlu_fallback", sender="fallback")
    assert first[0]["buttons"][-1] == {"title": "Jotain muuta", "payload": "/nlu_fallback"}
    second = say(rasa_url, "/nlu_fallback", sender="fallback")  # this module runs no handoff service
    payloads = [button["payload"] for button in second[0]["buttons"]]
    assert payloads == ["/contact_request"]
    assert "En juuri nyt saa tarkistettua, onko ammattilaisten chat auki." in texts(second)
