"""Residents' feedback after a chat: a rating 1–5 and an optional comment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handoff import counting, learning
from handoff.models import Feedback
from opastin.privacy import mask_optional


def store_feedback(
    session: Session, *, rating: int, comment: str | None, conversation_id: str | None, now: datetime
) -> int:
    """Store feedback (personal identity codes in the comment masked), count its rating and queue its
    comment for the editors (:mod:`handoff.learning`); returns its id."""
    if not 1 <= rating <= 5:
        raise ValueError("rating must be 1–5")
    feedback = Feedback(
        conversation_id=conversation_id, rating=rating, comment=mask_optional(comment), created_at=now
    )
    session.add(feedback)
    session.flush()
    counting.count_feedback(session, conversation_id, rating, now)
    team = counting.team_of(session, conversation_id) if conversation_id else counting.NO_TEAM
    learning.note_feedback(session, conversation_id, feedback.comment, team, now)
    feedback_id: int = feedback.id
    return feedback_id
