"""Whether a team can take a resident now, and what the bot then offers.

Pure functions over the service's :class:`~actions.handoff_client.TeamStatus`:
the resident is offered a queue only when the team is open and accepting; in
every other case (closed, nobody present, queue full, the service not
answering) they get the alternatives: the contact form, the team's web page
and its phone number. No function here talks to the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actions.handoff_client import PublicTeam, TeamStatus
from opastin.finnish_time import opening_phrase, queue_phrase, until_phrase, wait_phrase

ACCEPTING = "accepting"
CLOSED = "closed"
NOBODY_PRESENT = "nobody_present"
QUEUE_FULL = "queue_full"
UNAVAILABLE = "unavailable"

JOIN_BUTTON = ("Kyllä, jonoon", "/join_queue")
DECLINE_BUTTON = ("Ei kiitos", "/decline_queue")
FORM_BUTTON = ("Jätä yhteydenottopyyntö", "/contact_request")


@dataclass(frozen=True)
class Contacts:
    """Where a resident can turn when the chat cannot take them: the team's phone and web page."""

    phone: str
    web_page: str


@dataclass(frozen=True)
class Offer:
    """What the bot says about a team's chat now: a ``kind`` (for the slot), text and buttons."""

    kind: str
    text: str
    buttons: Sequence[tuple[str, str]] = field(default_factory=tuple)


def availability_kind(status: TeamStatus) -> str:
    """``accepting``, ``closed``, ``nobody_present`` or ``queue_full``."""
    if status.accepting:
        return ACCEPTING
    if not status.open:
        return CLOSED
    if status.agents_present == 0:
        return NOBODY_PRESENT
    return QUEUE_FULL


def route_extra(status: TeamStatus) -> dict[str, Any]:
    """The live availability added to a team's route payload."""
    return {
        "open": status.open,
        "accepting": status.accepting,
        "queue_length": status.queue_length,
        "estimated_wait_s": status.estimated_wait_s,
    }


def alternatives_text(contacts: Contacts) -> str:
    """The next steps when the chat cannot take the resident."""
    return (
        "Voit jättää kiireettömän yhteydenottopyynnön, niin ammattilainen ottaa sinuun yhteyttä. "
        f"Voit myös katsoa ohjeita verkkosivulta {contacts.web_page} tai soittaa numeroon {contacts.phone}."
    )


def closed_text(chat: str, status: TeamStatus, now: datetime) -> str:
    """``Neuvolan chat on nyt suljettu. Se on auki seuraavan kerran maanantaina klo 12–14.``

    Or, when no opening is known within the service's horizon, that it is not open in the next month.
    """
    if status.next_opening is None:
        return f"{chat} on nyt suljettu, eikä se ole auki seuraavan kuukauden aikana."
    when = opening_phrase(status.next_opening, status.next_opening_closes_at, now)
    return f"{chat} on nyt suljettu. Se on auki seuraavan kerran {when}."


def identification_text(status: TeamStatus) -> str:
    """What required identification means for the resident, told before they join the queue."""
    return (
        "Huomaa, että tämän palvelun ammattilainen tarvitsee vahvan tunnistautumisen "
        "(esimerkiksi pankkitunnukset tai mobiilivarmenne), ennen kuin hän voi käsitellä "
        "henkilökohtaisia tietojasi. Tässä chatissa ei voi vielä tunnistautua, joten chatissa saat "
        f"yleistä neuvontaa. Henkilökohtaisissa asioissa soita numeroon {status.phone}."
    )


def team_offer(chat: str, status: TeamStatus, now: datetime) -> Offer:
    """The offer for a team route: join the queue when accepting, else say why not and the alternatives."""
    contacts = Contacts(status.phone, status.web_page)
    kind = availability_kind(status)
    if kind == ACCEPTING:
        text = (
            f"{chat} on nyt auki. {queue_phrase(status.queue_length)}, arvioitu odotusaika "
            f"{wait_phrase(status.estimated_wait_s)}."
        )
        if status.identification == "required":
            text = f"{text} {identification_text(status)}"
        return Offer(kind, f"{text} Haluatko jonoon?", (JOIN_BUTTON, DECLINE_BUTTON))
    if kind == CLOSED:
        text = closed_text(chat, status, now)
    elif kind == NOBODY_PRESENT:
        closes = f" {until_phrase(status.closes_at, now)}" if status.closes_at else ""
        text = (
            f"{chat} on auki{closes}, mutta juuri nyt paikalla ei ole ketään vastaamassa, "
            "joten en voi luvata, että ammattilainen ehtisi vastata sinulle chatissa."
        )
    else:
        text = f"{chat} on auki, mutta jono on juuri nyt täynnä, joten et valitettavasti mahdu jonoon."
    return Offer(kind, f"{text} {alternatives_text(contacts)}", (FORM_BUTTON,))


def unavailable_offer(contacts: Contacts) -> Offer:
    """The offer when the handoff service does not answer: no promise of a human."""
    text = (
        "En juuri nyt saa yhteyttä ammattilaisten chat-palveluun, joten en voi tarkistaa, "
        f"pääsetkö chattiin. {alternatives_text(contacts)}"
    )
    return Offer(UNAVAILABLE, text, (FORM_BUTTON,))


def refused_offer(chat: str, code: str, contacts: Contacts) -> Offer:
    """The answer when the service refuses a queue place that was offered a moment ago."""
    reasons = {
        "team_closed": f"{chat} ehti juuri sulkeutua, joten en voinut lisätä sinua jonoon.",
        "nobody_present": (
            f"{chat}issa ei ole juuri nyt ketään vastaamassa, joten en voinut lisätä sinua jonoon."
        ),
        "queue_full": "Jono ehti juuri täyttyä, joten en voinut lisätä sinua jonoon.",
    }
    reason = reasons.get(code, "En valitettavasti voinut lisätä sinua jonoon.")
    return Offer(code, f"{reason} {alternatives_text(contacts)}", (FORM_BUTTON,))


def queued_text(position: int | None, estimated_wait_s: int | None) -> str:
    """What the resident reads after joining a queue."""
    return (
        f"Olet nyt jonossa sijalla {position}. Arvioitu odotusaika on {wait_phrase(estimated_wait_s)}. "
        "Ammattilainen vastaa sinulle tässä samassa ikkunassa. Voit kirjoittaa asiasi jo valmiiksi, "
        "niin hän näkee sen. Pidä tämä ikkuna auki. Hätätilanteessa soita 112."
    )


def hours_answer(chat: str, status: TeamStatus, now: datetime) -> str:
    """An answer to "milloin neuvolan chat on auki?" from the team's live status."""
    if status.open:
        closes = f" {until_phrase(status.closes_at, now)}" if status.closes_at else ""
        text = f"{chat} on auki nyt{closes}."
        if not status.accepting:
            text += " Juuri nyt paikalla ei kuitenkaan ole ketään vastaamassa tai jono on täynnä."
        return text
    return closed_text(chat, status, now)


def hours_overview(teams: Sequence[PublicTeam], now: datetime) -> str:
    """Which chats are open now, and when the closed ones open next (start time only)."""
    open_now = [
        f"{team.name} ({until_phrase(team.closes_at, now)})" for team in teams if team.open and team.closes_at
    ]
    closed = [
        f"{team.name} ({opening_phrase(team.opens_at, None, now)})"
        for team in teams
        if not team.open and team.opens_at is not None
    ]
    parts = []
    if open_now:
        parts.append("Nyt auki: " + ", ".join(open_now) + ".")
    else:
        parts.append("Yksikään ammattilaisten chat ei ole juuri nyt auki.")
    if closed:
        parts.append("Avautuvat seuraavan kerran: " + ", ".join(closed) + ".")
    parts.append("Minulle voit kirjoittaa milloin tahansa.")
    return " ".join(parts)
