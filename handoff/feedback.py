"""Residents' feedback after a chat: a rating 1–5 and an optional comment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handoff import counting
from handoff.models import Feedback
from opastin.privacy import mask_optional


def store_feedback(
    session: Session, *, rating: int, comment: str | None, conversation_id: str | None, now: datetime
) -> int:
    """Store feedback (personal identity codes in the comment masked) and count its rating; returns its id."""
    if not 1 <= rating <= 5:
        raise ValueError("rating must be 1–5")
    feedback = Feedback(
        conversation_id=conversation_id, rating=rating, comment=mask_optional(comment), created_at=now
    )
    session.add(feedback)
    session.flush()
    counting.count_feedback(session, conversation_id, rating, now)
    feedback_id: int = feedback.id
    return feedback_id
