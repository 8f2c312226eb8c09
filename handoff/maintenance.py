"""Periodic housekeeping: close the queues of closed teams and delete expired data.

Expired data: finished conversations and contact requests past their team's
retention, desk sessions past their expiry, and residents' chat sessions idle
longer than the shortest team retention.

:func:`run_once` is what the app's background task calls every
``HANDOFF_MAINTENANCE_INTERVAL_S`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.db import Database
from handoff.gateway.sessions import purge_idle
from handoff.models import ContactRequest, Conversation, Message, QueueEntry
from handoff.queue import OPEN_STATUSES, close_queues_of_closed_teams
from handoff.teams import Teams


@dataclass(frozen=True)
class MaintenanceResult:
    """What one maintenance run did."""

    closed_conversations: list[str]
    purged_conversations: int
    purged_contact_requests: int


def purge_expired(session: Session, teams: Teams, now: datetime) -> tuple[int, int]:
    """Delete finished conversations and contact requests older than each team's retention.

    A conversation expires ``retention_days`` after it ended (or was created,
    if it never ended); queued or active ones are kept. Returns the numbers of
    conversations and contact requests deleted.
    """
    conversations = contact_requests = 0
    for team in teams:
        cutoff = now - timedelta(days=team.retention_days)
        expired = select(Conversation.id).where(
            Conversation.team_id == team.id,
            Conversation.status.not_in(OPEN_STATUSES),
            func.coalesce(Conversation.ended_at, Conversation.created_at) < cutoff,
        )
        ids = session.execute(expired).scalars().all()
        if ids:
            session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
            session.execute(delete(QueueEntry).where(QueueEntry.conversation_id.in_(ids)))
            session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        expired_requests = delete(ContactRequest).where(
            ContactRequest.team_id == team.id, ContactRequest.created_at < cutoff
        )
        removed = session.execute(expired_requests).rowcount
        conversations += len(ids)
        contact_requests += removed
    if conversations or contact_requests:
        audit.record(
            session,
            "system",
            "retention.purge",
            None,
            now,
            conversations=conversations,
            contact_requests=contact_requests,
        )
    return conversations, contact_requests


def run_once(database: Database, teams: Teams, now: datetime) -> MaintenanceResult:
    """Close the queues of teams that are closed at ``now``, then purge expired data."""
    with database.writing() as session:
        closed = close_queues_of_closed_teams(session, teams, now)
    with database.writing() as session:
        purged_conversations, purged_requests = purge_expired(session, teams, now)
    with database.writing() as session:
        purge_idle(session, teams, now)
    return MaintenanceResult(closed, purged_conversations, purged_requests)
