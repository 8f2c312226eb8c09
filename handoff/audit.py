"""The audit log: every agent or system action on a conversation or account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handoff.models import AuditEntry


def record(
    session: Session, actor: str, action: str, object_id: str | None, now: datetime, **details: object
) -> None:
    """Add an audit entry to the session's transaction."""
    session.add(AuditEntry(actor=actor, action=action, object_id=object_id, details=details, created_at=now))
