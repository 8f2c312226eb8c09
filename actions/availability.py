"""Whether a team can take a resident now, and what the bot then offers.

Pure functions over the service's :class:`~actions.handoff_client.TeamStatus`:
the resident is offered a queue only when the team is open and accepting; in
every other case (closed, nobody present, queue full, the service not
answering) they get the alternatives: the contact form, the team's web page
and its phone number. No function here talks to the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actions.handoff_client import PublicTeam, TeamStatus
from opastin.finnish_time import HELSINKI, clock_time, opening_phrase, queue_phrase, until_phrase, wait_phrase
from opastin.hours import opening_status
from opastin.messages import text
from opastin.teams import CustomerService

ACCEPTING = "accepting"
CLOSED = "closed"
NOBODY_PRESENT = "nobody_present"
QUEUE_FULL = "queue_full"
UNAVAILABLE = "unavailable"

JOIN_PAYLOAD = "/join_queue"
DECLINE_PAYLOAD = "/decline_queue"
FORM_PAYLOAD = "/contact_request"


def join_button() -> tuple[str, str]:
    """Join the queue."""
    return text("bot.buttons.join_queue"), JOIN_PAYLOAD


def decline_button() -> tuple[str, str]:
    """Do not join the queue."""
    return text("bot.buttons.decline_queue"), DECLINE_PAYLOAD


def form_button() -> tuple[str, str]:
    """Leave a contact request instead."""
    return text("bot.buttons.contact_form"), FORM_PAYLOAD


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
    return text("bot.availability.alternatives", web_page=contacts.web_page, phone=contacts.phone)


def closed_text(chat: str, status: TeamStatus, now: datetime) -> str:
    """``Neuvolan chat on nyt suljettu. Se on auki seuraavan kerran maanantaina klo 12–14.``

    Or, when no opening is known within the service's horizon, that it is not open in the next month.
    """
    if status.next_opening is None:
        return text("bot.availability.closed_for_a_month", chat=chat)
    when = opening_phrase(status.next_opening, status.next_opening_closes_at, now)
    return text("bot.availability.closed", chat=chat, when=when)


def identification_text(status: TeamStatus) -> str:
    """What required identification means for the resident, told before they join the queue."""
    return text("bot.availability.identification", phone=status.phone)


def team_offer(chat: str, status: TeamStatus, now: datetime, *, again: bool = False) -> Offer:
    """The offer for a team route: join the queue when accepting, else say why not and the alternatives.

    ``again``: the same team was offered in the bot's previous turn, so the offer is
    worded anew and moves on (the queue, else the form and the phone first).
    """
    contacts = Contacts(status.phone, status.web_page)
    kind = availability_kind(status)
    if again:
        return _offer_again(kind, chat, status, now)
    if kind == ACCEPTING:
        said = text(
            "bot.availability.accepting",
            chat=chat,
            queue=queue_phrase(status.queue_length),
            wait=wait_phrase(status.estimated_wait_s),
        )
        if status.identification == "required":
            said = f"{said} {identification_text(status)}"
        ask = text("bot.availability.ask_to_join")
        return Offer(kind, f"{said} {ask}", (join_button(), decline_button()))
    if kind == CLOSED:
        said = closed_text(chat, status, now)
    elif kind == NOBODY_PRESENT:
        closes = f" {until_phrase(status.closes_at, now)}" if status.closes_at else ""
        said = text("bot.availability.nobody_present", chat=chat, closes=closes)
    else:
        said = text("bot.availability.queue_full", chat=chat)
    return Offer(kind, f"{said} {alternatives_text(contacts)}", (form_button(),))


def _offer_again(kind: str, chat: str, status: TeamStatus, now: datetime) -> Offer:
    if kind == ACCEPTING:
        said = text("bot.availability.accepting_again", chat=chat)
        return Offer(kind, said, (join_button(), decline_button()))
    if kind == CLOSED and status.next_opening is not None:
        when = opening_phrase(status.next_opening, status.next_opening_closes_at, now)
        said = text("bot.availability.closed_again", chat=chat, when=when, phone=status.phone)
    else:
        said = text("bot.availability.busy_again", phone=status.phone)
    return Offer(kind, said, (form_button(),))


def unavailable_offer(contacts: Contacts, *, again: bool = False) -> Offer:
    """The offer when the handoff service does not answer: no promise of a human."""
    if again:
        said = text("bot.availability.unavailable_again", phone=contacts.phone)
        return Offer(UNAVAILABLE, said, (form_button(),))
    said = f"{text('bot.availability.unavailable')} {alternatives_text(contacts)}"
    return Offer(UNAVAILABLE, said, (form_button(),))


def refused_offer(chat: str, code: str, contacts: Contacts) -> Offer:
    """The answer when the service refuses a queue place that was offered a moment ago."""
    known = code in ("team_closed", "nobody_present", "queue_full")
    reason = text(f"bot.availability.refused_{code}" if known else "bot.availability.refused", chat=chat)
    return Offer(code, f"{reason} {alternatives_text(contacts)}", (form_button(),))


def queued_text(position: int | None, estimated_wait_s: int | None) -> str:
    """What the resident reads after joining a queue."""
    return text("bot.availability.queued", position=position, wait=wait_phrase(estimated_wait_s))


def hours_answer(chat: str, status: TeamStatus, now: datetime) -> str:
    """An answer to "milloin neuvolan chat on auki?" from the team's live status."""
    if status.open:
        closes = f" {until_phrase(status.closes_at, now)}" if status.closes_at else ""
        said = text("bot.availability.open_now", chat=chat, closes=closes)
        if not status.accepting:
            said = f"{said} {text('bot.availability.open_but_not_accepting')}"
        return said
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
        parts.append(text("bot.availability.overview_open", teams=", ".join(open_now)))
    else:
        parts.append(text("bot.availability.overview_none_open"))
    if closed:
        parts.append(text("bot.availability.overview_opening", teams=", ".join(closed)))
    parts.append(text("bot.availability.overview_write_anytime"))
    return " ".join(parts)


def accepting(teams: Sequence[PublicTeam], among: Sequence[str]) -> list[str]:
    """The ids in ``among`` (in that order) whose chat takes residents now."""
    taking = {team.id for team in teams if team.accepting}
    return [team_id for team_id in among if team_id in taking]


def nobody_to_talk_to(
    teams: Sequence[PublicTeam], chat_names: Mapping[str, str], contacts: Contacts, now: datetime
) -> str:
    """Why no professional can chat now, when a chat opens next, the form and the phone.

    When every chat is closed (evenings, nights, weekends, holidays), urgent health
    matters are pointed to 116 117 as well.
    """
    anything_open = any(team.open for team in teams)
    if anything_open:
        parts = [text("bot.human.nobody_free")]
    else:
        upcoming = [(team.opens_at, team) for team in teams if team.opens_at is not None]
        if not upcoming:
            parts = [text("bot.human.none_open")]
        else:
            opens_at, first = min(upcoming, key=lambda pair: pair[0])
            chat = chat_names.get(first.id, first.name)
            parts = [text("bot.human.none_open_next", chat=chat, when=opening_phrase(opens_at, None, now))]
    parts.append(text("bot.human.alternatives", phone=contacts.phone))
    if not anything_open:
        parts.append(text("bot.human.urgent_health"))
    parts.append(text("bot.human.emergency"))
    return " ".join(parts)


def unavailable_people_text(contacts: Contacts) -> str:
    """When the service cannot say who is there: no promise, the form, the phone, 112."""
    parts = [
        text("bot.human.unavailable"),
        text("bot.human.alternatives", phone=contacts.phone),
        text("bot.human.emergency"),
    ]
    return " ".join(parts)


# The languages the other-language notice speaks, one sentence each.
LANGUAGES = ("fi", "en", "sv")


def _when(moment: datetime, now: datetime, language: str) -> str:
    if language == "fi":
        return opening_phrase(moment, None, now)
    day = moment.astimezone(HELSINKI).date()
    today = now.astimezone(HELSINKI).date()
    if day == today:
        said = text(f"bot.language.today_{language}")
    elif (day - today).days == 1:
        said = text(f"bot.language.tomorrow_{language}")
    else:
        said = text(f"bot.language.weekdays_{language}").split("|")[day.weekday()]
    return f"{said} {moment.astimezone(HELSINKI):%H:%M}"


def phone_line_now(service: CustomerService, now: datetime) -> dict[str, str]:
    """The customer service line's state now, one sentence per language (``fi``, ``en``, ``sv``)."""
    status = opening_status(service.schedule, now)
    said = {}
    for language in LANGUAGES:
        if status.open and status.closes_at is not None:
            until = clock_time(status.closes_at) if language == "fi" else f"{status.closes_at:%H:%M}"
            said[language] = text(f"bot.language.open_{language}", phone=service.phone, until=until)
        elif status.opens_at is not None:
            when = _when(status.opens_at, now, language)
            said[language] = text(f"bot.language.closed_{language}", phone=service.phone, when=when)
        else:
            said[language] = text(f"bot.language.phone_{language}", phone=service.phone)
    return said
