"""The contact request form's rules, as plain functions: what a valid answer is and what to store.

A resident leaves a non-urgent message or a call-back request for a team. The
form asks for the team (unless the conversation already decided one), the
message, the contact method, the phone number or e-mail address, and consent
to store the request. Nothing here talks to Rasa or to the handoff service.

A personal identity code (henkilötunnus) is never asked for or stored: the
chat gateway masks it before the bot sees the text (and tells the resident),
and :func:`clean_message` masks it again, in case a message arrives another way.
"""

from __future__ import annotations

import re
from typing import Any

import email_validator
import phonenumbers

from opastin import messages
from opastin.finnish_text import chat_sentences
from opastin.privacy import mask_hetu
from opastin.routes import ContactFormWords, default_routes, normalise

PHONE = "phone"
EMAIL = "email"
MIN_MESSAGE_CHARS = 10
MAX_MESSAGE_CHARS = 4000
MAX_TOPIC_CHARS = 200

_MESSAGE_NAMED = re.compile(r"\bviesti\w*", re.IGNORECASE)
_INTO_MESSAGE = re.compile(r"\bviestiin\b", re.IGNORECASE)
_THAT = re.compile(r"\b(?:että|etta|et)\b", re.IGNORECASE)
MIN_ADDITION_WORDS = 2
# "ei hitto, lääke on lamictal eikä keppra": a correction at the read-back long enough to be content.
MIN_NOTE_WORDS = 4
# An answer longer than this is a message, which may well contain the stop words.
MAX_STOP_WORDS = 12
_EMAIL_CANDIDATE = re.compile(r"[^\s<>(),;:\"']+@[^\s<>(),;:\"']+")
FINLAND = 358
MIN_MOBILE_DIGITS = 9
# "nyt oikein, lähetä": a yes that is not the first word counts in an answer this short.
MAX_LATE_YES_WORDS = 6
_LETTERS = re.compile(r"[a-zåäö]{2,}", re.IGNORECASE)


def _words() -> ContactFormWords:
    """The words the form reads answers by (``contact_form_words`` in ``data/routes.yml``)."""
    return default_routes().form_words


def clean_message(text: str) -> str:
    """The resident's text, trimmed, with personal identity codes masked."""
    return mask_hetu(text.strip())


def message_problem(text: str) -> str | None:
    """Why a message cannot be sent (``too_short``, ``too_long``), or ``None`` when it is fine.
    A message that only announces one ("no jätän sit viestin") says too little."""
    if len(text) > MAX_MESSAGE_CHARS:
        return "too_long"
    if len(text) < MIN_MESSAGE_CHARS or not _LETTERS.search(text):
        return "too_short"
    if set(normalise(text).split()) <= _words().announcing_words:
        return "too_short"
    return None


def _finnish_number(text: str) -> phonenumbers.PhoneNumber | None:
    """The one Finnish phone number in ``text`` (``sori, 040 1234567``), or ``None``.

    None when there is no valid number, more than one, other digits beside it
    (``040 123 4567 tai 050``: which one?), or a foreign number: the teams call
    Finnish numbers only. A number must be written as Finns write them, starting
    with 0 or the country code (+358, 00358).
    """
    found = _valid_numbers(text)
    if len(found) != 1:
        return _corrected_ending(text)
    match = found[0]
    if re.search(r"\d", _TIMES.sub(" ", text[: match.start] + " " + text[match.end :])):
        return _corrected_ending(text)
    written = match.raw_string.lstrip("(")
    if not written.startswith(("0", "+358")) or written.startswith("000"):
        return None
    return match.number if match.number.country_code == FINLAND else None


# Times of day beside a number are no second number ("soittakaa 15 jälkeen, numero 044 512 0876",
# "klo 9–11", "aamulla 8-10").
_TIMES = re.compile(
    r"\b(?:klo|kello)\s*\d{1,2}(?:[.:]\d{2})?(?:\s*[-–]\s*\d{1,2}(?:[.:]\d{2})?)?"
    r"|\b\d{1,2}(?:[.:]\d{2})?\s*(?:[-–]\s*\d{1,2}(?:[.:]\d{2})?\s*)?"
    r"(?:jälkeen|jalkeen|jälkee|jalkee|asti|mennessä|mennessa|alkaen|välillä|valilla|aikaan)\b"
    r"|\b(?:[01]?\d|2[0-3])\s*[-–]\s*(?:[01]?\d|2[0-3])\b",
    re.IGNORECASE,
)


# A number's last digits corrected in the same breath ("040 339 2011, tai eiku 2010").
_SELF_CORRECTION = re.compile(
    r"\b(?:eiku|eikun|ei\s+kun|tai\s+siis|siis|sori|anteeksi)\W+(\d{1,4})\b", re.IGNORECASE
)


def _corrected_ending(text: str) -> phonenumbers.PhoneNumber | None:
    """The number written before a correction of its last digits, with them corrected; ``None`` when
    there is no such correction or other digits follow it."""
    fix = _SELF_CORRECTION.search(text)
    if fix is None:
        return None
    found = _valid_numbers(text[: fix.start()])
    ending = fix.group(1)
    if len(found) != 1 or any(digits != ending for digits in re.findall(r"\d+", text[fix.end() :])):
        return None
    written = re.sub(r"[^\d+]", "", found[0].raw_string)
    return _finnish_number(written[: -len(ending)] + ending)


def foreign_phone(text: str) -> bool:
    """Whether ``text`` gives one valid phone number of another country (``+46 70 123 4567``)."""
    found = _valid_numbers(text)
    return len(found) == 1 and found[0].number.country_code != FINLAND


def _valid_numbers(text: str) -> list[phonenumbers.PhoneNumberMatch]:
    """Every valid phone number in ``text``, read as a Finn writes them (national ones are Finnish)."""
    return list(phonenumbers.PhoneNumberMatcher(text, "FI", leniency=phonenumbers.Leniency.VALID))


def _national(number: phonenumbers.PhoneNumber) -> str:
    return re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))


def normalise_phone(text: str) -> str | None:
    """A Finnish phone number in national form ("0401234567"), or ``None`` if ``text`` is not one.

    Accepts the ways people write numbers (``040 123 4567``, ``040-1234567``,
    ``+358 40 123 4567``, ``00358401234567``, ``(015) 211 8000``), also inside a
    sentence (``sori, se on 040 1234567``). Validated by ``phonenumbers``; a
    mobile number shorter than nine digits is refused (:func:`phone_too_short`).
    """
    number = _finnish_number(text)
    if number is None or _mobile_missing_digits(number):
        return None
    return _national(number)


def phone_too_short(text: str) -> bool:
    """Whether ``text`` is a Finnish mobile number missing digits (``040 12345``)."""
    number = _finnish_number(text)
    return number is not None and _mobile_missing_digits(number)


def _mobile_missing_digits(number: phonenumbers.PhoneNumber) -> bool:
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        return False
    return len(_national(number)) < MIN_MOBILE_DIGITS


def format_phone(national: str) -> str:
    """A national number grouped for reading back to the resident: ``040 123 4567``."""
    area_length = 3 if national.startswith(("04", "050")) else len(national) - 7
    area_length = max(2, min(area_length, 4))
    area, rest = national[:area_length], national[area_length:]
    return f"{area} {rest[:3]} {rest[3:]}".strip()


def normalise_email(text: str) -> str | None:
    """The e-mail address in ``text`` (domain in lower case), or ``None`` if there is not exactly one.

    Also inside a sentence (``osoite on liisa@posti.fi, kiitos``); validated by
    ``email-validator`` without asking the network.
    """
    found = _EMAIL_CANDIDATE.findall(text)
    if len(found) != 1:
        return None
    candidate = found[0].rstrip(".,;:!?")
    try:
        checked = email_validator.validate_email(candidate, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    return str(checked.normalized)


def contact_method(text: str) -> str | None:
    """``phone`` or ``email`` from an answer like "soittakaa minulle" or "sähköpostilla"."""
    words = normalise(text)
    if any(word in words for word in _words().email_words):
        return EMAIL
    if any(word in words for word in _words().phone_words):
        return PHONE
    return None


def direct_contact(text: str) -> tuple[str, str] | None:
    """``(method, value)`` when the resident typed a number or an address instead of choosing."""
    if (email := normalise_email(text)) is not None:
        return EMAIL, email
    if (phone := normalise_phone(text)) is not None:
        return PHONE, phone
    return None


def contact_value(method: str, text: str) -> str | None:
    """The normalised number or address for ``method``, or ``None`` when ``text`` is not valid."""
    return normalise_phone(text) if method == PHONE else normalise_email(text)


def yes_or_no(text: str) -> bool | None:
    """``True`` for a yes ("kyllä", "no joo", "laita menemään"), ``False`` for a no, ``None`` when unclear.

    Leading fillers are skipped ("no kyllä", "niin joo"); the first word that
    remains decides ("en mä sittenkään", "älä lähetä", "ei kiitos" are no).
    A lone "no" is Finnish for "well", not a refusal: it is unclear. Stopping in
    the same breath takes a yes back ("lähetä... ei kun peru koko juttu" is no).
    """
    if wants_to_stop(text):
        return False
    words = normalise(text).split()
    while len(words) > 1 and words[0] in _words().fillers:
        words = words[1:]
    if not words:
        return None
    first = words[0]
    if first in _words().no and first != "no":
        return False
    if first in _words().yes:
        return True
    return _yes_further_on(words) or _yes_in_a_sentence(text)


def _yes_in_a_sentence(text: str) -> bool | None:
    """A yes in a sentence of its own when no sentence says no ("Nyt se on oikein. Lähettäkää se,
    olkaa hyvä.": each sentence read as a whole answer)."""
    sentences = chat_sentences(text)
    if len(sentences) < 2 or re.search(r"\d", text):  # digits answer another question
        return None
    answers = [yes_or_no(sentence) for sentence in sentences]
    return True if True in answers and False not in answers else None


def _yes_further_on(words: list[str]) -> bool | None:
    """A yes a few words in ("nyt on oikein, lähetä vaan") when no word of the answer says no."""
    if len(words) > MAX_LATE_YES_WORDS or _words().no & set(words):
        return None
    return True if _words().yes & set(words) else None


def wants_correction(text: str) -> bool:
    """Whether the resident says something was wrong ("numero meni väärin", "korjaa osoite")."""
    return any(stem in word for word in normalise(text).split() for stem in _words().correction_stems)


def wants_to_stop(text: str) -> bool:
    """Whether the resident stops the form in their own words ("anna olla, soitan itse"), rather than
    changing an answer ("en mä sittenkään, laita sähköpostiin")."""
    normalised = normalise(text)
    if len(normalised.split()) > MAX_STOP_WORDS or direct_contact(text) is not None:
        return False
    padded = f" {normalised} "
    if _words().stop_words & set(normalised.split()) or any(
        f" {p} " in padded for p in _words().stop_phrases
    ):
        return True
    return contact_method(text) is None and any(f" {p} " in padded for p in _words().maybe_stop_phrases)


def looks_like_an_answer(text: str) -> bool:
    """Whether ``text`` answers one of the form's detail steps in some way: a method, a number or an
    address (also one too short), a yes or a no, a correction, or stopping."""
    return (
        contact_method(text) is not None
        or direct_contact(text) is not None
        or phone_too_short(text)
        or foreign_phone(text)
        or yes_or_no(text) is not None
        or wants_correction(text)
        or wants_to_stop(text)
    )


def names_an_appointment(text: str) -> bool:
    """Whether a message speaks of an appointment ("peruutan keskiviikon laboratorioajan"): as the
    form's message, cancelling it is the matter, not stopping the form."""
    return any(
        word.startswith(_words().appointment_stems) or "ajan" in word for word in normalise(text).split()
    )


def cancels_an_appointment(text: str, step: str | None) -> bool:
    """Whether an answer to the form's ``step`` is a message about cancelling an appointment
    ("peruutan keskiviikon laboratorioajan" asked for the message), not a wish to stop the form."""
    return step == "contact_message" and names_an_appointment(text)


def takes_back(text: str) -> bool:
    """Whether the resident takes back an earlier answer ("ei kun neuvola", "tarkoitin sähköpostia")."""
    normalised = f" {normalise(text)}"
    return any(f" {cue}" in normalised for cue in _words().correction_cues)


def wants_message_changed(text: str) -> bool:
    """Whether the resident wants to rewrite the message ("muuta viestiä", "viesti meni väärin")."""
    words = normalise(text).split()
    names_message = any(word.startswith(_words().message_words) for word in words)
    return names_message and wants_correction(text) and len(words) <= 8


def message_change_with_content(text: str) -> str | None:
    """A change of the message that already says what to change ("ei kun muuta viestiin
    kortisonikuuri, ei antibiootti"): the resident's words, to be added to the message as written;
    ``None`` when it only asks to rewrite the message ("muuta viestiä")."""
    named = _INTO_MESSAGE.search(text)  # "viestiin": what goes into it follows
    if named is None or not wants_message_changed(text):
        return None
    after = text[named.end() :].strip(" ,.:;-")
    return clean_message(text) if after else None


def message_addition(text: str) -> str | None:
    """What the resident adds to the message ("laita vielä viestiin, että lääkkeet loppuu
    perjantaina" gives "lääkkeet loppuu perjantaina"), or ``None`` when they do not add to it."""
    words = normalise(text).split()
    if not any(word.startswith(_words().adding_stems) for word in words):
        return None
    named = _MESSAGE_NAMED.search(text)
    if named is None:
        return None
    rest = text[named.end() :]
    that = _THAT.search(rest)
    addition = (rest[that.end() :] if that else rest).strip(" ,.:;-")
    if len(addition.split()) < MIN_ADDITION_WORDS:
        return None
    return clean_message(addition)


def correction_note(text: str) -> str | None:
    """A correction of the message's content said at the read-back ("ei hitto, lääke on lamictal eikä
    keppra"), to be added to the message as the resident wrote it; ``None`` for anything else: a plain
    yes or no, a few words, or words about the sending itself ("ei, älä tallenna tietojani")."""
    words = normalise(text).split()
    if len(words) < MIN_NOTE_WORDS or not takes_back(text) or wants_to_stop(text):
        return None
    if any(word.startswith(_words().consent_stems) for word in words):
        return None
    return clean_message(text)


def other_method(text: str, current: str | None) -> str | None:
    """The other contact method, when the resident switches to it without giving the detail yet."""
    method = contact_method(text)
    if method is None or method == current or direct_contact(text) is not None:
        return None
    return method if takes_back(text) or len(normalise(text).split()) <= 4 else None


def readable_contact(method: str, value: str) -> str:
    """How the contact detail is read back: "puhelimitse numeroon 040 123 4567"."""
    if method == PHONE:
        return messages.text("bot.contact.by_phone", phone=format_phone(value))
    return messages.text("bot.contact.by_email", email=value)


def contact_request_body(
    *,
    team: str,
    topic: str,
    message: str,
    method: str,
    value: str,
    conversation_id: str | None,
    request_id: str,
) -> dict[str, Any]:
    """The JSON body of ``POST /api/service/contact-requests`` (consent is given by then).

    ``request_id`` makes a retry safe: the service stores a request id once.
    """
    return {
        "request_id": request_id,
        "team": team,
        "topic": mask_hetu(topic)[:MAX_TOPIC_CHARS],
        "message": mask_hetu(message)[:MAX_MESSAGE_CHARS],
        "contact_method": method,
        "contact_value": value,
        "consent": True,
        "conversation_id": conversation_id,
    }
