"""Attachments in a live chat: who may send one, its record, who may download it.

A resident may attach a file only in a live chat (a professional holds it) and
only once strongly identified; the server checks both from the session secret,
never from anything else the browser says. The file itself is checked,
scanned and encrypted by :mod:`handoff.attachments`; here are its rows. The
professional holding the chat (or who held it last, after it ended) downloads
it, audited. Rows go with the conversation (retention, erasure) and
:func:`handoff.attachments.store.remove_orphans` then removes the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit, live
from handoff.errors import Forbidden, NotActive, NotFound
from handoff.identification.service import is_identified
from handoff.models import ACTIVE, Agent, Attachment, Conversation


class NotIdentified(Forbidden):
    """Only a strongly identified resident may send files."""

    code = "not_identified"


@dataclass(frozen=True)
class Sender:
    """The live chat a resident's upload goes to."""

    conversation_id: str
    team_id: str
    agent_id: int


@dataclass(frozen=True)
class AttachmentInfo:
    """What the desk shows of an attachment."""

    id: str
    filename: str
    content_type: str
    size: int


def download_path(conversation_id: str, attachment_id: str) -> str:
    """The desk's link to an attachment (:mod:`handoff.desk.attachments`)."""
    return f"/desk/conversations/{conversation_id}/liitteet/{attachment_id}"


def sender(session: Session, conversation_id: str) -> Sender:
    """The live chat ``conversation_id`` as an upload's target: :class:`NotActive` when no
    professional holds it, :class:`NotIdentified` when its resident has not identified.

    The caller found ``conversation_id`` from the resident's session secret.
    """
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != ACTIVE or conversation.agent_id is None:
        raise NotActive("attachments go to a live chat only")
    if not is_identified(session, conversation.id):
        raise NotIdentified("the resident has not identified")
    return Sender(conversation.id, conversation.team_id, conversation.agent_id)


def add(
    session: Session,
    stored_id: str,
    conversation_id: str,
    message_id: int | None,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
    now: datetime,
) -> None:
    """Record a stored attachment of the conversation (audited, without the file name)."""
    session.add(
        Attachment(
            id=stored_id,
            conversation_id=conversation_id,
            message_id=message_id,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
            created_at=now,
        )
    )
    audit.record(session, "resident", "attachment.upload", conversation_id, now, size=size, type=content_type)


def of_messages(session: Session, conversation_id: str) -> dict[int, AttachmentInfo]:
    """The conversation's attachments by the id of the chat message that announced them."""
    rows = session.execute(
        select(Attachment).where(
            Attachment.conversation_id == conversation_id, Attachment.message_id.is_not(None)
        )
    ).scalars()
    return {row.message_id: AttachmentInfo(row.id, row.filename, row.content_type, row.size) for row in rows}


def for_download(
    session: Session, agent_id: int, conversation_id: str, attachment_id: str, now: datetime
) -> AttachmentInfo:
    """The attachment, for the professional holding the chat or who held it last (audited)."""
    agent: Agent | None = session.get(Agent, agent_id)
    if agent is None:
        raise Forbidden("the agent account is gone")
    conversation = live.conversation_for(session, agent, conversation_id)
    if conversation.agent_id != agent.id:
        raise Forbidden("only the conversation's professional downloads its attachments")
    row: Attachment | None = session.get(Attachment, attachment_id)
    if row is None or row.conversation_id != conversation_id:
        raise NotFound("no such attachment")
    audit.record(session, agent.username, "attachment.download", conversation_id, now, attachment=row.id)
    return AttachmentInfo(row.id, row.filename, row.content_type, row.size)


def kept_ids(session: Session) -> set[str]:
    """Every attachment id still recorded (the files of the others may go)."""
    return set(session.execute(select(Attachment.id)).scalars())
