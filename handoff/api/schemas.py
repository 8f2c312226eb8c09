"""Request and response bodies of the APIs (pydantic 1.x).

Strings are strict (a number is not a string) and bounded; unknown fields
are rejected, so a typo in a client is a 422 rather than silently ignored.
"""

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, StrictBool, conint, conlist, constr, validator

CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9._:@-]+$"
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()-]{4,18}[0-9]$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

if TYPE_CHECKING:  # pydantic's constrained types are plain str and int to a type checker
    ConversationId = str
    TeamId = str
    TurnText = str
    Summary = str
    Topic = str
    MessageText = str
    ContactValue = str
    RequestId = str
    Rating = int
    Comment = str
else:
    ConversationId = constr(strict=True, min_length=1, max_length=128, regex=CONVERSATION_ID_PATTERN)
    TeamId = constr(strict=True, min_length=1, max_length=64)
    TurnText = constr(strict=True, max_length=4000)
    Summary = constr(strict=True, strip_whitespace=True, max_length=1000)
    Topic = constr(strict=True, strip_whitespace=True, min_length=1, max_length=200)
    MessageText = constr(strict=True, strip_whitespace=True, min_length=1, max_length=4000)
    ContactValue = constr(strict=True, strip_whitespace=True, min_length=3, max_length=254)
    RequestId = constr(strict=True, min_length=8, max_length=64, regex=CONVERSATION_ID_PATTERN)
    Rating = conint(strict=True, ge=1, le=5)
    Comment = constr(strict=True, strip_whitespace=True, max_length=2000)


class _Input(BaseModel):
    class Config:
        extra = "forbid"


class TranscriptTurn(_Input):
    """One turn of the resident's conversation with the bot."""

    sender: Literal["resident", "bot"]
    text: TurnText
    timestamp: datetime | None = None


if TYPE_CHECKING:
    Transcript = list[TranscriptTurn]
else:
    Transcript = conlist(TranscriptTurn, max_items=200)


class HandoffCreate(_Input):
    """A request to queue a conversation for a team."""

    conversation_id: ConversationId
    team: TeamId
    summary: Summary = ""
    transcript: Transcript = []


class ContactRequestCreate(_Input):
    """A non-urgent contact request; ``consent`` must be true."""

    team: TeamId
    topic: Topic
    message: MessageText
    contact_method: Literal["phone", "email"]
    contact_value: ContactValue
    consent: StrictBool
    conversation_id: ConversationId | None = None
    # The sender's id for this request (e.g. a UUID): a retry with the same id is stored once.
    request_id: RequestId | None = None

    @validator("consent")
    def _consent_given(cls, consent: bool) -> bool:
        if not consent:
            raise ValueError("the resident must consent to being contacted")
        return consent

    @validator("contact_value")
    def _contact_matches_method(cls, value: str, values: dict[str, Any]) -> str:
        method = values.get("contact_method")
        if method == "phone" and not PHONE_PATTERN.match(value):
            raise ValueError("not a phone number")
        if method == "email" and not EMAIL_PATTERN.match(value):
            raise ValueError("not an email address")
        return value


class FeedbackCreate(_Input):
    """A rating 1–5 with an optional comment."""

    rating: Rating
    comment: Comment | None = None
    conversation_id: ConversationId | None = None


class PublicTeam(BaseModel):
    """A team in the public status list (the keys are a contract, see design.md)."""

    id: str
    name: str
    open: bool
    opens_at: datetime | None
    closes_at: datetime | None
    accepting: bool
    queue_length: int
    estimated_wait_s: int | None
    identification: str


class TeamStatus(BaseModel):
    """Everything the action server needs to decide what to offer."""

    id: str
    name: str
    description: str
    open: bool
    opens_at: datetime | None
    closes_at: datetime | None
    next_opening: datetime | None
    next_opening_closes_at: datetime | None
    accepting: bool
    identification: str
    phone: str
    web_page: str
    agents_present: int
    active_chats: int
    capacity: int
    queue_length: int
    estimated_wait_s: int | None
    reply_within_workdays: int


class QueueStatusOut(BaseModel):
    """A conversation's handoff status and, while queued, its position."""

    conversation_id: str
    team: str
    status: str
    position: int | None
    queue_length: int
    estimated_wait_s: int | None


class HandoffCreated(QueueStatusOut):
    """The answer to a new handoff."""

    identification: str


class ContactReceiptOut(BaseModel):
    """The reference number and the promised reply time."""

    reference: str
    team: str
    reply_within_workdays: int
    reply_by: date
    reply_promise: str


class FeedbackStored(BaseModel):
    """The id of stored feedback."""

    id: int
