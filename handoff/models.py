"""Database tables of the handoff service (SQLAlchemy 1.4, declarative).

Times are stored in UTC and always read back as aware UTC datetimes, on
SQLite as well as PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.orm import declarative_base, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

if TYPE_CHECKING:  # SQLAlchemy 1.4 ships no types: what a type checker needs of the declarative base

    class Base:
        metadata: ClassVar[Any]
        __table__: ClassVar[Any]

        def __init__(self, **kwargs: Any) -> None: ...

else:
    Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

ID_LENGTH = 128
TEAM_ID_LENGTH = 64

# Conversation.status while a handoff is open: waiting in a team's queue, or with an agent.
WAITING = "queued"
ACTIVE = "active"
OPEN_STATUSES = (WAITING, ACTIVE)

# DailyCount.label: a bucket, a level, a rating or a route ("omaolo:https://...").
LABEL_LENGTH = 255
# A resident session with activity not yet counted for statistics (see ResidentSession.counted_at).
UNCOUNTED = "counted_at IS NULL OR last_seen_at > counted_at"


class UTCDateTime(TypeDecorator):  # type: ignore[misc]  # SQLAlchemy 1.4 ships no types
    """A timezone-aware datetime stored as naive UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Convert an aware datetime to naive UTC for storage."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Attach UTC to a stored naive datetime."""
        return None if value is None else value.replace(tzinfo=UTC)


class Agent(Base):
    """A professional (role ``agent``), an administrator (``admin``) or a manager who sees only the
    statistics and belongs to no team (``manager``)."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(128), nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="agent")
    active = Column(Boolean, nullable=False, default=True)
    # A generated or reset password: the desk asks for a new one before anything else.
    must_change_password = Column(Boolean, nullable=False, default=False, server_default=false())
    created_at = Column(UTCDateTime, nullable=False)

    memberships = relationship("TeamMembership", back_populates="agent", cascade="all, delete-orphan")


class TeamMembership(Base):
    """An agent belongs to a team and may serve its queue."""

    __tablename__ = "team_memberships"

    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    team_id = Column(String(TEAM_ID_LENGTH), primary_key=True)

    agent = relationship("Agent", back_populates="memberships")


class Presence(Base):
    """An agent is present (serving) in a team since a moment."""

    __tablename__ = "presence"

    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    team_id = Column(String(TEAM_ID_LENGTH), primary_key=True)
    since = Column(UTCDateTime, nullable=False)


class Conversation(Base):
    """A resident's conversation (id = the Rasa sender id) once it is handed to a team.

    ``status`` is one of ``queued``, ``active``, ``ended``, ``cancelled``
    (the resident left the queue) or ``closed`` (the team closed while the
    resident was waiting). ``transfer_to`` is the team an agent proposed to
    transfer the chat to, while the resident has not answered yet;
    ``emergency_level`` (``112``, ``crisis``, ``116117``, ``social``) is set when a
    message to the agent side looked like an emergency.
    """

    __tablename__ = "conversations"

    id = Column(String(ID_LENGTH), primary_key=True)
    team_id = Column(String(TEAM_ID_LENGTH), nullable=False, index=True)
    status = Column(String(16), nullable=False, index=True)
    summary = Column(Text, nullable=False, default="")
    transcript = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    accepted_at = Column(UTCDateTime)
    ended_at = Column(UTCDateTime)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    transfer_to = Column(String(TEAM_ID_LENGTH))
    emergency_level = Column(String(16))


class Message(Base):
    """One message of a conversation: from the resident, an agent, the system or the bot.

    ``author`` is the display name of the agent who wrote an agent message.
    """

    __tablename__ = "messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sender = Column(String(16), nullable=False)
    text = Column(Text, nullable=False)
    author = Column(String(128))
    created_at = Column(UTCDateTime, nullable=False)


class QueueEntry(Base):
    """A conversation waiting in a team's queue; ``left_at``/``outcome`` set when it leaves.

    ``position_at_join`` and ``agents_at_join`` feed the wait estimate (see
    :mod:`handoff.queue`). ``outcome`` is ``accepted``, ``cancelled`` or
    ``closed``. Entries with a higher ``priority`` go first (a chat whose
    agent dropped out, or a transferred one, goes back to the head of the queue).
    """

    __tablename__ = "queue_entries"
    __table_args__ = (
        Index("ix_queue_entries_waiting", "team_id", "left_at", "enqueued_at"),
        Index(
            "uq_queue_entries_one_waiting",
            "conversation_id",
            unique=True,
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
    )

    id = Column(Integer, primary_key=True)
    team_id = Column(String(TEAM_ID_LENGTH), nullable=False)
    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    enqueued_at = Column(UTCDateTime, nullable=False)
    position_at_join = Column(Integer, nullable=False)
    agents_at_join = Column(Integer, nullable=False)
    priority = Column(Integer, nullable=False, default=0, server_default=text("0"))
    left_at = Column(UTCDateTime)
    outcome = Column(String(16))


class ContactRequest(Base):
    """A non-urgent contact request left through the bot's form, with the reply date promised."""

    __tablename__ = "contact_requests"

    id = Column(Integer, primary_key=True)
    reference = Column(String(32), nullable=False, unique=True)
    # Chosen by the sender; a retried request with the same id is stored once.
    request_id = Column(String(64), unique=True)
    team_id = Column(String(TEAM_ID_LENGTH), nullable=False, index=True)
    conversation_id = Column(String(ID_LENGTH))
    topic = Column(String(200), nullable=False)
    message = Column(Text, nullable=False)
    contact_method = Column(String(8), nullable=False)
    contact_value = Column(String(254), nullable=False)
    consent = Column(Boolean, nullable=False)
    status = Column(String(16), nullable=False, default="open", index=True)
    handled_by = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    handled_at = Column(UTCDateTime)
    # What the professional noted when handling it (identity codes masked); kept as long as the request.
    handled_note = Column(Text)
    created_at = Column(UTCDateTime, nullable=False, index=True)
    # The last day (Helsinki) of the reply the resident was promised; unknown for requests before 0007.
    reply_by = Column(Date)


class Feedback(Base):
    """A resident's rating (1–5) and optional comment after a conversation."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(ID_LENGTH), index=True)
    rating = Column(Integer, nullable=False)
    comment = Column(Text)
    created_at = Column(UTCDateTime, nullable=False)


class AuditEntry(Base):
    """Who did what to which object, and when."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(64), nullable=False)
    object_id = Column(String(ID_LENGTH))
    details = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, index=True)


class ResidentSession(Base):
    """A resident's chat session: the SHA-256 of the secret their browser holds, and the conversation.

    The conversation id (the Rasa sender id) is generated by the server and
    never sent to the browser; only the secret resumes the session.
    """

    __tablename__ = "resident_sessions"
    __table_args__ = (
        Index(
            "ix_resident_sessions_uncounted",
            "last_seen_at",
            sqlite_where=text(UNCOUNTED),
            postgresql_where=text(UNCOUNTED),
        ),
    )

    conversation_id = Column(String(ID_LENGTH), primary_key=True)
    secret_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False, index=True)
    # Set when the resident ended the conversation: its secret resumes nothing any more.
    ended_at = Column(UTCDateTime)
    # Shown to the resident ("KS-7F3K-9QXA"): how the registry finds the conversation
    # for a data subject request. It gives no access by itself.
    reference = Column(String(16), unique=True)
    # When the conversation was last counted for statistics; activity after it is counted again.
    counted_at = Column(UTCDateTime)


class SessionMessage(Base):
    """One message as the resident saw it (bot, agent, system) or wrote it, for redrawing on resume.

    ``payload`` holds the rest of a ``bot_uttered`` message (quick replies, custom payload).
    """

    __tablename__ = "session_messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        String(ID_LENGTH),
        ForeignKey("resident_sessions.conversation_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    sender = Column(String(16), nullable=False)
    text = Column(Text)
    payload = Column(JSON)
    created_at = Column(UTCDateTime, nullable=False)


class AgentSession(Base):
    """A logged-in agent desk session: the SHA-256 of the cookie's token, and its CSRF token."""

    __tablename__ = "agent_sessions"

    token_hash = Column(String(64), primary_key=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False, index=True)


class DailyCount(Base):
    """One count of the statistics: a day (Helsinki), a team, a measure and its label, and the count.

    ``team_id`` is empty for conversations that reached no team. It holds no
    conversation id, text or identity, so it outlives the retention purge
    (see :mod:`handoff.counting`).
    """

    __tablename__ = "daily_counts"

    day = Column(Date, primary_key=True)
    team_id = Column(String(TEAM_ID_LENGTH), primary_key=True)
    metric = Column(String(32), primary_key=True)
    label = Column(String(LABEL_LENGTH), primary_key=True)
    value = Column(Integer, nullable=False)


class LearningItem(Base):
    """A resident's message the bot could learn from, waiting for a content editor (the learning queue).

    ``source``: ``not_understood`` (the bot asked which topic was meant, or
    did not understand), ``clarified`` (the resident answered the clarifying
    question; ``suggested_intent`` is the topic chosen), ``transferred`` (a
    professional moved the chat to another team, ``outcome.transferred_to``)
    or ``feedback`` (a feedback comment). ``text`` is masked when collected
    and dropped when the item is reviewed; ``example`` is the editor's own
    generic rewrite. ``status``: ``new``, ``approved``, ``rejected`` (not for
    the bot) or ``exported``. See :mod:`handoff.learning`.
    """

    __tablename__ = "learning_items"

    id = Column(Integer, primary_key=True)
    source = Column(String(16), nullable=False)
    text = Column(Text)
    suggested_intent = Column(String(64))
    outcome = Column(JSON, nullable=False)
    team_id = Column(String(TEAM_ID_LENGTH), nullable=False, default="")
    conversation_id = Column(String(ID_LENGTH), index=True)
    status = Column(String(16), nullable=False, default="new", index=True)
    intent = Column(String(64))
    example = Column(Text)
    reviewed_by = Column(String(64))
    reviewed_at = Column(UTCDateTime)
    exported_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, index=True)


class ConversationNote(Base):
    """A professionals-only note on a handed-off conversation: never shown to the resident or sent to
    the bot; it follows the conversation to another team and is purged with it."""

    __tablename__ = "conversation_notes"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    author = Column(String(128), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)


class IdentificationAttempt(Base):
    """One strong identification of a conversation's resident, from the ticket to the provider's answer.

    The ticket (given to the resident's chat), the ``state`` sent to the
    provider and the browser secret set when the login started are stored as
    SHA-256 hashes; ``nonce`` and ``code_verifier`` only while the login is
    under way (cleared when the callback consumes it). ``outcome`` is set when
    it ends: ``identified``, ``same_person``, ``different_person`` or why it
    failed. See :mod:`handoff.identification.service`.
    """

    __tablename__ = "identification_attempts"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    ticket_hash = Column(String(64), nullable=False, unique=True)
    state_hash = Column(String(64), unique=True)
    browser_hash = Column(String(64))
    nonce = Column(String(128))
    code_verifier = Column(String(128))
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False, index=True)
    started_at = Column(UTCDateTime)
    finished_at = Column(UTCDateTime)
    outcome = Column(String(32))


class ConversationIdentity(Base):
    """Who the resident of a conversation strongly identified as.

    ``identity_code`` is encrypted (AES-GCM, bound to the conversation id;
    :mod:`handoff.identification.vault`); the names are shown to the
    professional. ``provider`` is the issuer that vouched for it. Purged with
    the conversation.
    """

    __tablename__ = "conversation_identities"

    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    identity_code = Column(Text, nullable=False)
    given_name = Column(String(128), nullable=False)
    family_name = Column(String(128), nullable=False)
    provider = Column(String(255), nullable=False)
    identified_at = Column(UTCDateTime, nullable=False)


class ConversationSubject(Base):
    """The child an identified guardian acts for in a conversation (docs/identification.md).

    ``identity_code`` is encrypted like the guardian's (bound to the conversation, as the
    subject's); ``age`` is the child's age when chosen. ``maturity`` is ``None`` for a child
    under 12, else ``pending`` until the professional records ``allowed`` or ``refused``
    (``decided_by``, ``decided_at``). Purged with the conversation.
    """

    __tablename__ = "conversation_subjects"

    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    identity_code = Column(Text, nullable=False)
    given_name = Column(String(128), nullable=False)
    family_name = Column(String(128), nullable=False)
    age = Column(Integer, nullable=False)
    chosen_at = Column(UTCDateTime, nullable=False)
    maturity = Column(String(16))
    decided_by = Column(String(64))
    decided_at = Column(UTCDateTime)


class Attachment(Base):
    """A file an identified resident sent in a live chat (docs/identification.md, "Attachments").

    ``id`` names the encrypted file in the attachment store (outside the web root); the
    message says "Liite: <filename>" in the chat. Purged with the conversation, file and row.
    """

    __tablename__ = "attachments"

    id = Column(String(64), primary_key=True)
    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    message_id = Column(Integer, ForeignKey("messages.id", ondelete="SET NULL"))
    filename = Column(String(128), nullable=False)
    content_type = Column(String(32), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)


class Consultation(Base):
    """A colleague invited to consult on one conversation (docs/handoff.md, "Consultation").

    While ``ended_at`` is unset, and only during the holding that was current when they were
    invited (``started_at`` not before the conversation's ``accepted_at``), the consultant may read
    that conversation and write in its consultation thread, whatever their team; they never get
    their team's queue from it. While ``visible_since`` is set they also write to the resident.
    Purged with the conversation.
    """

    __tablename__ = "consultations"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    consultant_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False)
    invited_by = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    started_at = Column(UTCDateTime, nullable=False)
    ended_at = Column(UTCDateTime)
    # Set while the consultant is also a visible participant of the resident's chat.
    visible_since = Column(UTCDateTime)


class ConsultationMessage(Base):
    """A message of a conversation's consultation thread: between professionals only, never to the
    resident or the bot; it follows the conversation and is purged with it."""

    __tablename__ = "consultation_messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    author = Column(String(128), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)


class RoomMessage(Base):
    """A message in a professionals-only consultation room (docs/handoff.md, "Consultation rooms").

    ``room`` is a team id of the catalogue (that team's room) or ``yhteinen-huone`` (the room of
    every team; :data:`handoff.rooms.COMMON`). ``author`` is the writer's display name at the time;
    identity codes are masked before the text is stored. Never shown to residents or the bot;
    purged after the room's retention (:func:`handoff.rooms.purge`).
    """

    __tablename__ = "room_messages"

    id = Column(Integer, primary_key=True)
    room = Column(String(TEAM_ID_LENGTH), nullable=False, index=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    author = Column(String(128), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, index=True)


class DeskSocket(Base):
    """An agent's desk socket open on one replica of the handoff service; with ``closed_at``, the
    agent's last one, closed, while that replica runs the agent's grace period.

    Each replica refreshes ``last_seen`` of its rows every heartbeat and deletes them when it stops;
    rows not refreshed for a while are a vanished replica's and are deleted by the next heartbeat
    of any replica (:mod:`handoff.gateway.desk_sockets`).
    """

    __tablename__ = "desk_sockets"

    replica_id = Column(String(32), primary_key=True)
    socket_id = Column(String(64), primary_key=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True)
    connected_at = Column(UTCDateTime, nullable=False)
    last_seen = Column(UTCDateTime, nullable=False)
    closed_at = Column(UTCDateTime)
