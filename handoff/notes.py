"""Internal notes on a conversation: written and read by the professionals of its team only.

A note is never sent to the resident's page or to the bot, and never relayed
through the chat gateway. It belongs to the conversation, so it follows a
transfer to the new team, and it is purged and erased with the conversation
(:mod:`handoff.retention`, :mod:`handoff.subject`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit, live
from handoff.errors import InvalidInput
from handoff.models import Agent, ConversationNote
from opastin.privacy import mask_hetu

MAX_NOTE_LENGTH = 2000


def add_note(
    session: Session, agent: Agent, conversation_id: str, text: str, now: datetime
) -> ConversationNote:
    """A note by ``agent`` on a conversation of one of their teams (identity codes masked); audited."""
    conversation = live.conversation_for(session, agent, conversation_id)
    text = text.strip()
    if not text or len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"a note is 1–{MAX_NOTE_LENGTH} characters")
    note = ConversationNote(
        conversation_id=conversation.id,
        agent_id=agent.id,
        author=agent.display_name,
        text=mask_hetu(text),
        created_at=now,
    )
    session.add(note)
    audit.record(
        session, agent.username, "conversation.note", conversation.id, now, team=conversation.team_id
    )
    return note


def notes_of(session: Session, conversation_id: str) -> list[ConversationNote]:
    """The conversation's notes, oldest first."""
    statement = select(ConversationNote).where(ConversationNote.conversation_id == conversation_id)
    return list(session.execute(statement.order_by(ConversationNote.id)).scalars())
