"""Non-urgent contact requests left when a team is closed or busy."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit, counting
from handoff.errors import NotFound
from handoff.models import ContactRequest
from opastin.finnish_time import reply_promise
from opastin.hours import HELSINKI, workdays_after
from opastin.privacy import mask_hetu
from opastin.teams import Team

REFERENCE_PREFIX = "YP"
REFERENCE_ATTEMPTS = 20


@dataclass(frozen=True)
class ContactReceipt:
    """What the resident is told after leaving a contact request."""

    reference: str
    team_id: str
    reply_within_workdays: int
    reply_by: date
    reply_promise: str


def _new_reference(session: Session, year: int) -> str:
    """A random, unused reference like ``YP-2026-004217``."""
    for _ in range(REFERENCE_ATTEMPTS):
        reference = f"{REFERENCE_PREFIX}-{year}-{secrets.randbelow(1_000_000):06d}"
        taken = select(ContactRequest.id).where(ContactRequest.reference == reference)
        if session.execute(taken).first() is None:
            return reference
    raise RuntimeError("could not find a free contact request reference")


def create_contact_request(
    session: Session,
    team: Team,
    *,
    topic: str,
    message: str,
    contact_method: str,
    contact_value: str,
    consent: bool,
    conversation_id: str | None,
    now: datetime,
    request_id: str | None = None,
) -> ContactReceipt:
    """Store a contact request (personal identity codes masked) and return its receipt.

    A request whose ``request_id`` was stored before is not stored (or counted)
    again: the first one's receipt is returned, so a sender may retry after a timeout.
    """
    if request_id is not None:
        stored = session.execute(
            select(ContactRequest).where(ContactRequest.request_id == request_id)
        ).scalar_one_or_none()
        if stored is not None:
            return _receipt(stored.reference, team, stored.created_at)
    local_today = now.astimezone(HELSINKI).date()
    reference = _new_reference(session, local_today.year)
    receipt = _receipt(reference, team, now)
    session.add(
        ContactRequest(
            reference=reference,
            request_id=request_id,
            team_id=team.id,
            conversation_id=conversation_id,
            topic=mask_hetu(topic),
            message=mask_hetu(message),
            contact_method=contact_method,
            contact_value=contact_value,
            consent=consent,
            status="open",
            created_at=now,
            reply_by=receipt.reply_by,
        )
    )
    session.flush()
    counting.count_contact_request(session, team.id, now)
    return receipt


def _receipt(reference: str, team: Team, created_at: datetime) -> ContactReceipt:
    created_on = created_at.astimezone(HELSINKI).date()
    return ContactReceipt(
        reference=reference,
        team_id=team.id,
        reply_within_workdays=team.reply_within_workdays,
        reply_by=workdays_after(created_on, team.reply_within_workdays),
        reply_promise=reply_promise(team.reply_within_workdays),
    )


MAX_NOTE_LENGTH = 2000


def mark_handled(
    session: Session,
    request_id: int,
    teams_of_agent: tuple[str, ...],
    actor: tuple[int, str],
    note: str,
    now: datetime,
) -> str:
    """Mark a contact request of one of the agent's teams handled, with an optional note (identity
    codes masked); counted as handled by the promised reply date or late. Returns its team id.

    ``actor`` is the agent's id and username. Marking it again changes nothing.
    """
    request: ContactRequest | None = session.get(ContactRequest, request_id)
    if request is None or request.team_id not in teams_of_agent:
        raise NotFound(f"no contact request {request_id} in the agent's teams")
    if request.status != "handled":
        agent_id, username = actor
        request.status, request.handled_by, request.handled_at = "handled", agent_id, now
        request.handled_note = mask_hetu(note.strip()[:MAX_NOTE_LENGTH]) or None
        counting.count_contact_handled(session, request.team_id, request.reply_by, now)
        audit.record(
            session, username, "contact_request.handle", request.reference, now, team=request.team_id
        )
    return str(request.team_id)
