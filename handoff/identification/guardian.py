"""Acting for a child: the guardian's choice, the child bound to the conversation, the maturity decision.

1. After a guardian has identified in a conversation, the result page offers
   the children the population register gives (:mod:`.register`), each with
   their age, and "Asioin omasta puolestani". The form carries a
   :func:`choice_token`: signed by the server, bound to the conversation and
   to that identification, valid for :data:`CHOICE_TTL`. Nothing the browser
   chooses names a child: it sends a position in the register's list, read
   again from the register for the identified guardian.
2. :func:`choose` stores the child for the conversation (the child's identity
   code encrypted, like the guardian's) or removes it ("omasta puolestani").
3. A child under :data:`~.register.MATURITY_AGE` is acted for directly; for a
   child of that age or older the desk shows that the professional must assess
   the child's maturity, and :func:`decide_maturity` records the decision.

Every step is audited without names or codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import InvalidInput, NotFound
from handoff.identification.identity import IdentificationFailed
from handoff.identification.register import MATURITY_AGE, Child, GuardianshipRegister
from handoff.identification.vault import IdentityVault
from handoff.models import OPEN_STATUSES, Conversation, ConversationIdentity, ConversationSubject
from opastin.hours import HELSINKI

CHOICE_TTL = timedelta(minutes=15)
SELF = "self"
PENDING = "pending"
DECISIONS = ("allowed", "refused")

Decision = Literal["allowed", "refused"]


def _subject_aad(conversation_id: str) -> str:
    return f"{conversation_id}/subject"


def _token_message(conversation_id: str, identified_at: datetime, expires: int) -> str:
    return f"{conversation_id}.{int(identified_at.timestamp() * 1_000_000)}.{expires}"


def choice_token(vault: IdentityVault, conversation_id: str, identified_at: datetime, now: datetime) -> str:
    """A signed token for the choice form of the identification stored at ``identified_at``."""
    message = _token_message(conversation_id, identified_at, int((now + CHOICE_TTL).timestamp()))
    return f"{message}.{vault.sign(message)}"


@dataclass(frozen=True)
class ChildOption:
    """A child the guardian may choose: ``index`` is its place in the register's list."""

    index: int
    display_name: str
    age: int

    @property
    def needs_assessment(self) -> bool:
        """A child of 12 or older: the professional assesses maturity first."""
        return self.age >= MATURITY_AGE


def _guardian(session: Session, conversation_id: str) -> ConversationIdentity | None:
    stored: ConversationIdentity | None = session.get(ConversationIdentity, conversation_id)
    return stored


def _children(
    session: Session, vault: IdentityVault, register: GuardianshipRegister, conversation_id: str
) -> tuple[Child, ...]:
    stored = _guardian(session, conversation_id)
    if stored is None:
        return ()
    return register.children_of(vault.decrypt(stored.identity_code, conversation_id))


def options(
    session: Session,
    vault: IdentityVault,
    register: GuardianshipRegister,
    conversation_id: str,
    now: datetime,
) -> tuple[ChildOption, ...]:
    """The children the conversation's identified resident is the guardian of (none for others)."""
    today = now.astimezone(HELSINKI).date()
    return tuple(
        ChildOption(index, child.display_name, child.age(today))
        for index, child in enumerate(_children(session, vault, register, conversation_id))
    )


@dataclass(frozen=True)
class Chosen:
    """What the guardian chose: a child (with ``age`` and whether maturity is to be assessed) or ``None``."""

    conversation_id: str
    child: ChildOption | None
    given_name: str | None = None
    family_name: str | None = None


def _checked_token(session: Session, vault: IdentityVault, token: str, now: datetime) -> str:
    """The conversation of a valid, unexpired token whose identification still stands."""
    parts = token.rsplit(".", 3)
    if len(parts) != 4 or not vault.verify(".".join(parts[:3]), parts[3]):
        raise IdentificationFailed("unknown_state", "choice token not valid")
    conversation_id, identified, expires = parts[:3]
    if not expires.isdigit() or int(expires) < now.timestamp():
        raise IdentificationFailed("expired", "choice token expired")
    conversation: Conversation | None = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status not in OPEN_STATUSES:
        raise IdentificationFailed("conversation_closed")
    stored = _guardian(session, conversation_id)
    if stored is None or _token_message(conversation_id, stored.identified_at, int(expires)) != ".".join(
        parts[:3]
    ):
        raise IdentificationFailed("unknown_state", "the identification changed")
    return conversation_id


def choose(
    session: Session,
    vault: IdentityVault,
    register: GuardianshipRegister,
    token: str,
    choice: str,
    now: datetime,
) -> Chosen:
    """Store the guardian's ``choice`` (a child's index, or :data:`SELF`) for the token's conversation.

    :class:`IdentificationFailed` for a token that is forged, expired, of an ended conversation or
    of an identification since replaced; :class:`InvalidInput` for a choice not in the list.
    """
    conversation_id = _checked_token(session, vault, token, now)
    if choice == SELF:
        own = ConversationSubject.conversation_id == conversation_id
        session.execute(delete(ConversationSubject).where(own))
        audit.record(session, "resident", "identification.acting_for_self", conversation_id, now)
        return Chosen(conversation_id, None)
    children = _children(session, vault, register, conversation_id)
    if not choice.isdigit() or int(choice) >= len(children):
        raise InvalidInput("subject: not one of the guardian's children")
    child = children[int(choice)]
    option = ChildOption(int(choice), child.display_name, child.age(now.astimezone(HELSINKI).date()))
    subject = session.get(ConversationSubject, conversation_id) or ConversationSubject(
        conversation_id=conversation_id
    )
    subject.identity_code = vault.encrypt(child.identity_code, _subject_aad(conversation_id))
    subject.given_name, subject.family_name = child.given_name, child.family_name
    subject.age, subject.chosen_at = option.age, now
    subject.maturity = PENDING if option.needs_assessment else None
    subject.decided_by = subject.decided_at = None
    session.add(subject)
    audit.record(session, "resident", "identification.acting_for_child", conversation_id, now, age=option.age)
    return Chosen(conversation_id, option, child.given_name, child.family_name)


@dataclass(frozen=True)
class Subject:
    """The child a conversation is about, as the desk shows it (no code)."""

    display_name: str
    age: int
    maturity: str | None
    decided_by: str | None

    @property
    def assessment_pending(self) -> bool:
        """The professional has yet to assess the child's maturity."""
        return self.maturity == PENDING


def subject_of(session: Session, conversation_id: str) -> Subject | None:
    """The child the guardian acts for in ``conversation_id``, or ``None``."""
    stored: ConversationSubject | None = session.get(ConversationSubject, conversation_id)
    if stored is None:
        return None
    name = f"{stored.given_name} {stored.family_name}"
    return Subject(name, stored.age, stored.maturity, stored.decided_by)


def subject_code(session: Session, vault: IdentityVault, conversation_id: str) -> str | None:
    """The child's identity code, decrypted (only the access rule calls this; it audits)."""
    stored: ConversationSubject | None = session.get(ConversationSubject, conversation_id)
    if stored is None:
        return None
    return vault.decrypt(stored.identity_code, _subject_aad(conversation_id))


def decide_maturity(session: Session, conversation_id: str, decision: str, actor: str, now: datetime) -> None:
    """Record the professional's maturity assessment of the conversation's child (audited)."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision: one of {', '.join(DECISIONS)}")
    stored: ConversationSubject | None = session.get(ConversationSubject, conversation_id)
    if stored is None or stored.maturity is None:
        raise NotFound("no child of 12 or older in this conversation")
    stored.maturity, stored.decided_by, stored.decided_at = decision, actor, now
    audit.record(session, actor, "identification.maturity", conversation_id, now, decision=decision)
