"""Identification bound to a server-side conversation: tickets, logins and the stored identity.

1. :func:`issue_ticket` — the desk (or the gateway, for a team that requires
   identification) asks for a one-time ticket for an open conversation; the
   resident's chat gets the link :func:`start_path`. The ticket is random
   (256 bits), stored as a hash, valid for :data:`TICKET_TTL` and good for one
   start only.
2. :func:`start_login` — the resident's browser opens the link: the ticket
   is consumed and a login starts with a fresh ``state``, ``nonce`` and PKCE
   verifier kept here, bound to the conversation of the ticket; the browser
   gets only a random secret (a cookie) that the callback must bring back.
3. :func:`consume_login` — the provider redirects back with ``state``: the
   login is looked up by it (hash), checked (not used, not expired, same
   browser) and consumed at once, so a replayed callback finds it used.
4. :func:`bind_identity` — the identity the provider vouched for is stored
   for the conversation (identity code encrypted). A second identification
   by the same person refreshes it; by a different person it is refused,
   the first one stays, and the outcome says so (the desk warns).

Nothing the browser chooses decides which conversation is identified: that
comes from the ticket, which only the server hands out. Every step leaves an
audit entry without names or codes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import Conflict, UnknownConversation
from handoff.identification.identity import FailureReason, IdentificationFailed, Identity
from handoff.identification.vault import IdentityVault
from handoff.models import OPEN_STATUSES, Conversation, ConversationIdentity, IdentificationAttempt

TICKET_TTL = timedelta(minutes=15)
LOGIN_TTL = timedelta(minutes=10)
# Finished or expired attempts are kept this long (replays get the right message), then deleted.
ATTEMPT_KEPT = timedelta(days=1)
START_PATH = "/tunnistautuminen/aloita/"
CALLBACK_PATH = "/tunnistautuminen/paluu"
CHOICE_PATH = "/tunnistautuminen/puolesta"  # the guardian's choice (:mod:`.guardian`)

Outcome = Literal["identified", "same_person", "different_person"]


def start_path(ticket: str) -> str:
    """The path of the resident's link that starts the identification (:mod:`.routes`)."""
    return f"{START_PATH}{ticket}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _open_conversation(session: Session, conversation_id: str) -> Conversation | None:
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status not in OPEN_STATUSES:
        return None
    return conversation


def issue_ticket(session: Session, conversation_id: str, now: datetime, actor: str = "system") -> str:
    """A new one-time ticket for the open conversation ``conversation_id``.

    Raises :class:`UnknownConversation` when there is no such conversation, :class:`Conflict` when it
    has ended. Earlier unused tickets of the conversation stay valid until they expire.
    """
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None:
        raise UnknownConversation(conversation_id)
    if conversation.status not in OPEN_STATUSES:
        raise Conflict("the conversation has ended")
    session.execute(
        delete(IdentificationAttempt).where(IdentificationAttempt.expires_at < now - ATTEMPT_KEPT)
    )
    ticket = secrets.token_urlsafe(32)
    session.add(
        IdentificationAttempt(
            conversation_id=conversation_id,
            ticket_hash=_hash(ticket),
            created_at=now,
            expires_at=now + TICKET_TTL,
        )
    )
    audit.record(session, actor, "identification.ticket", conversation_id, now)
    return ticket


@dataclass(frozen=True)
class LoginStart:
    """A started login: what goes to the provider (state, nonce, verifier) and the browser's secret."""

    conversation_id: str
    state: str
    nonce: str
    code_verifier: str
    browser_secret: str

    def __repr__(self) -> str:
        return f"LoginStart(conversation_id={self.conversation_id!r}, …)"


def start_login(session: Session, ticket: str, now: datetime) -> LoginStart:
    """Consume ``ticket`` and start a login for its conversation.

    Refuses with :class:`IdentificationFailed`: ``unknown_ticket``, ``ticket_used``, ``expired``,
    ``conversation_closed``.
    """
    attempt: IdentificationAttempt | None = session.execute(
        select(IdentificationAttempt).where(IdentificationAttempt.ticket_hash == _hash(ticket))
    ).scalar_one_or_none()
    if attempt is None:
        raise IdentificationFailed("unknown_ticket")
    if attempt.started_at is not None:
        raise IdentificationFailed("ticket_used")
    if attempt.expires_at <= now:
        raise IdentificationFailed("expired", "ticket expired")
    if _open_conversation(session, attempt.conversation_id) is None:
        raise IdentificationFailed("conversation_closed")
    start = LoginStart(
        conversation_id=attempt.conversation_id,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(48),
        browser_secret=secrets.token_urlsafe(32),
    )
    # Only the first of two concurrent starts with the same ticket wins.
    started = session.execute(
        update(IdentificationAttempt)
        .where(IdentificationAttempt.id == attempt.id, IdentificationAttempt.started_at.is_(None))
        .values(
            started_at=now,
            expires_at=now + LOGIN_TTL,
            state_hash=_hash(start.state),
            browser_hash=_hash(start.browser_secret),
            nonce=start.nonce,
            code_verifier=start.code_verifier,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if started != 1:
        raise IdentificationFailed("ticket_used")
    audit.record(session, "resident", "identification.start", attempt.conversation_id, now)
    return start


@dataclass(frozen=True)
class PendingLogin:
    """A login the callback consumed: its conversation and the secrets to finish it with."""

    attempt_id: int
    conversation_id: str
    nonce: str
    code_verifier: str

    def __repr__(self) -> str:
        return f"PendingLogin(conversation_id={self.conversation_id!r}, …)"


def consume_login(
    session: Session, state: str | None, browser_secret: str | None, now: datetime
) -> PendingLogin:
    """The login ``state`` names, consumed (a second callback with it is a replay).

    Refuses with :class:`IdentificationFailed`: ``unknown_state`` (missing or unknown), ``replay``
    (used already), ``expired``, ``other_browser`` (the secret set at the start is not there). A
    refusal changes nothing, so it is safe to raise inside the caller's transaction.
    """
    if not state:
        raise IdentificationFailed("unknown_state", "no state")
    attempt: IdentificationAttempt | None = session.execute(
        select(IdentificationAttempt).where(IdentificationAttempt.state_hash == _hash(state))
    ).scalar_one_or_none()
    if attempt is None:
        raise IdentificationFailed("unknown_state")
    if attempt.finished_at is not None or attempt.nonce is None or attempt.code_verifier is None:
        raise IdentificationFailed("replay")
    # Checked before it is consumed: neither changes anything, so a stranger without the browser's
    # secret cannot spend the resident's login, and an expired one stays expired.
    if attempt.expires_at <= now:
        raise IdentificationFailed("expired", "login expired")
    given = _hash(browser_secret or "")
    if attempt.browser_hash is None or not hmac.compare_digest(given, attempt.browser_hash):
        raise IdentificationFailed("other_browser")
    pending = PendingLogin(attempt.id, attempt.conversation_id, attempt.nonce, attempt.code_verifier)
    consumed = session.execute(
        update(IdentificationAttempt)
        .where(IdentificationAttempt.id == attempt.id, IdentificationAttempt.finished_at.is_(None))
        .values(finished_at=now, nonce=None, code_verifier=None, outcome="pending")
        .execution_options(synchronize_session=False)
    ).rowcount
    if consumed != 1:  # a concurrent callback with the same state won
        raise IdentificationFailed("replay")
    return pending


def _set_outcome(session: Session, attempt_id: int, outcome: str) -> None:
    session.execute(
        update(IdentificationAttempt)
        .where(IdentificationAttempt.id == attempt_id)
        .values(outcome=outcome)
        .execution_options(synchronize_session=False)
    )


def record_failure(
    session: Session, pending: PendingLogin | None, reason: FailureReason, now: datetime
) -> None:
    """Note a refused identification in the audit log (and on its attempt, when known)."""
    if pending is not None:
        _set_outcome(session, pending.attempt_id, reason)
    conversation_id = pending.conversation_id if pending is not None else None
    audit.record(session, "resident", "identification.failed", conversation_id, now, reason=reason)


def bind_identity(
    session: Session, vault: IdentityVault, pending: PendingLogin, identity: Identity, now: datetime
) -> Outcome:
    """Store ``identity`` for the login's conversation; ``different_person`` keeps the first one.

    Raises :class:`IdentificationFailed` ``conversation_closed`` when the conversation ended meanwhile.
    """
    conversation_id = pending.conversation_id
    if _open_conversation(session, conversation_id) is None:
        raise IdentificationFailed("conversation_closed")
    stored: ConversationIdentity | None = session.get(ConversationIdentity, conversation_id)
    outcome: Outcome
    if stored is None:
        session.add(
            ConversationIdentity(
                conversation_id=conversation_id,
                identity_code=vault.encrypt(identity.identity_code, conversation_id),
                given_name=identity.given_name,
                family_name=identity.family_name,
                provider=identity.provider,
                identified_at=now,
            )
        )
        outcome = "identified"
    elif hmac.compare_digest(
        vault.decrypt(stored.identity_code, conversation_id).encode(), identity.identity_code.encode()
    ):
        stored.given_name, stored.family_name = identity.given_name, identity.family_name
        stored.provider, stored.identified_at = identity.provider, now
        outcome = "same_person"
    else:
        outcome = "different_person"
    _set_outcome(session, pending.attempt_id, outcome)
    audit.record(session, "resident", f"identification.{outcome}", conversation_id, now)
    return outcome


@dataclass(frozen=True)
class StoredIdentity:
    """A conversation's identity as stored, the code decrypted. ``repr`` leaves the code out."""

    conversation_id: str
    identity_code: str
    given_name: str
    family_name: str
    provider: str
    identified_at: datetime

    def __repr__(self) -> str:
        return f"StoredIdentity(conversation_id={self.conversation_id!r}, identified_at={self.identified_at})"

    @property
    def display_name(self) -> str:
        """``Etunimi Sukunimi``."""
        return f"{self.given_name} {self.family_name}"


def identity_of(session: Session, vault: IdentityVault, conversation_id: str) -> StoredIdentity | None:
    """The identity bound to ``conversation_id``, or ``None`` while the resident is anonymous.

    Whoever shows the code must audit the view (the access rule comes with the desk).
    """
    stored: ConversationIdentity | None = session.get(ConversationIdentity, conversation_id)
    if stored is None:
        return None
    return StoredIdentity(
        conversation_id=conversation_id,
        identity_code=vault.decrypt(stored.identity_code, conversation_id),
        given_name=stored.given_name,
        family_name=stored.family_name,
        provider=stored.provider,
        identified_at=stored.identified_at,
    )


def is_identified(session: Session, conversation_id: str) -> bool:
    """Whether the conversation's resident has identified (no decryption)."""
    found = session.execute(
        select(ConversationIdentity.conversation_id).where(
            ConversationIdentity.conversation_id == conversation_id
        )
    ).first()
    return found is not None


# What the chat and the desk show of a conversation's identification (:func:`chat_state`).
ChatState = Literal["none", "requested", "identified", "different_person", "cancelled", "failed", "ended"]
ENDED = "ended"  # the outcome of tickets and logins cut off because the resident ended the chat


@dataclass(frozen=True)
class ChatIdentification:
    """A conversation's identification as the chat and the desk show it: no identity code.

    ``state`` is ``identified`` when an identity is bound (``different_person`` when the last
    attempt was someone else's: the first identity stays), else what the last attempt came to:
    ``requested`` (a ticket or login still under way), ``cancelled``, ``failed``, ``ended``, or
    ``none`` when nothing was asked.
    """

    state: ChatState
    given_name: str | None = None
    family_name: str | None = None

    @property
    def identified(self) -> bool:
        """Whether an identity is bound to the conversation."""
        return self.given_name is not None

    @property
    def display_name(self) -> str | None:
        """``Etunimi Sukunimi`` when identified."""
        if self.given_name is None or self.family_name is None:
            return None
        return f"{self.given_name} {self.family_name}"


def chat_state(session: Session, conversation_id: str, now: datetime) -> ChatIdentification:
    """The conversation's identification for the chat and the desk (no decryption)."""
    stored: ConversationIdentity | None = session.get(ConversationIdentity, conversation_id)
    last: IdentificationAttempt | None = session.execute(
        select(IdentificationAttempt)
        .where(IdentificationAttempt.conversation_id == conversation_id)
        .order_by(IdentificationAttempt.created_at.desc(), IdentificationAttempt.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    names = (stored.given_name, stored.family_name) if stored is not None else (None, None)
    state: ChatState
    if last is None:
        state = "identified" if stored is not None else "none"
    elif last.outcome is None or last.outcome == "pending":
        # A ticket or login under way; an expired one counts as never asked.
        under_way = last.outcome == "pending" or last.expires_at > now
        state = "requested" if under_way else ("identified" if stored is not None else "none")
    elif last.outcome in ("identified", "same_person"):
        state = "identified"
    elif last.outcome == "different_person":
        state = "different_person"
    elif stored is not None:
        state = "identified"  # a later attempt failed; the identity stays
    elif last.outcome == "cancelled":
        state = "cancelled"
    elif last.outcome == ENDED:
        state = "ended"
    else:
        state = "failed"
    return ChatIdentification(state, *names)


def has_attempts(session: Session, conversation_id: str) -> bool:
    """Whether a ticket was ever issued for the conversation."""
    found = session.execute(
        select(IdentificationAttempt.id).where(IdentificationAttempt.conversation_id == conversation_id)
    ).first()
    return found is not None


def end_pending(session: Session, conversation_id: str, now: datetime) -> int:
    """The resident ended the chat on their device: no ticket or login of it works any more.

    Every unused ticket and every login under way (its browser cookie included) expires now and is
    marked ``ended``; the start link then answers "expired", the callback "expired". Returns how many.
    """
    ended: int = session.execute(
        update(IdentificationAttempt)
        .where(
            IdentificationAttempt.conversation_id == conversation_id,
            IdentificationAttempt.finished_at.is_(None),
            IdentificationAttempt.outcome.is_(None),
        )
        .values(expires_at=now, outcome=ENDED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended:
        audit.record(session, "resident", "identification.ended", conversation_id, now)
    return ended
