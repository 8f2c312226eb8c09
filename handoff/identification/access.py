"""One access rule for a resident's identity (docs/identification.md, "Who sees the identity code").

- The professional **holding** the live chat now (after a transfer, the new
  holder) sees the resident's name and may open the identity code.
- A colleague invited to **consult** on the chat sees the name, never the code;
  once the holder takes them into the resident's chat as a visible
  **participant** (the resident is told), they see the name and open the code
  as the holder does.
- **Anyone else** who may open the conversation — its team while it waits in
  the queue, a colleague reading an ended chat found by search, an
  administrator — sees only "Tunnistettu" and opens the code (and the name
  with it) only by stating a reason.
- The code of a child a guardian acts for follows the same rule, opened with the
  guardian's.
- Every opening of the code is audited (``identity.code.view``, with the
  basis and the reason); the code itself is never written to the audit log,
  to a log or to Rasa.

The rule is a pure function of the conversation's state and the viewer, so
the desk, its fragments and any later view (a consultant, a visible
participant) ask the same question here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import Forbidden, InvalidInput, NotFound
from handoff.identification.guardian import subject_code
from handoff.identification.service import StoredIdentity, identity_of
from handoff.identification.vault import IdentityVault
from handoff.models import ACTIVE, Conversation

AUDIT_ACTION = "identity.code.view"
MIN_REASON_LENGTH = 10
MAX_REASON_LENGTH = 300

Basis = Literal["holder", "participant", "consultant", "stated_reason"]


@dataclass(frozen=True)
class IdentityAccess:
    """What one professional may see of a conversation's identity."""

    basis: Basis

    @property
    def holds(self) -> bool:
        """The viewer holds the live chat (asks for identification, assesses maturity)."""
        return self.basis == "holder"

    @property
    def sees_name(self) -> bool:
        """The name is shown without asking: to the holder, a participant and an invited consultant."""
        return self.basis in ("holder", "participant", "consultant")

    @property
    def opens_code(self) -> bool:
        """The code may be opened at all (never by a consultant)."""
        return self.basis != "consultant"

    @property
    def needs_reason(self) -> bool:
        """The code opens only with a stated reason."""
        return self.basis == "stated_reason"


def access_of(
    status: str, holder_id: int | None, viewer_id: int, consultant: bool = False, participant: bool = False
) -> IdentityAccess:
    """The access of ``viewer_id`` to a conversation in ``status`` held by ``holder_id``.

    The caller has already checked that the viewer may open the conversation at all (its team,
    or ``consultant``: invited to consult on it now; ``participant``: also taken into the
    resident's chat).
    """
    if status == ACTIVE and holder_id is not None and holder_id == viewer_id:
        return IdentityAccess("holder")
    if status == ACTIVE and consultant and participant:
        return IdentityAccess("participant")
    return IdentityAccess("consultant" if consultant else "stated_reason")


def checked_reason(access: IdentityAccess, reason: str | None) -> str | None:
    """The stated reason, trimmed; :class:`InvalidInput` when one is needed and missing or too short."""
    text = " ".join((reason or "").split())
    if not access.needs_reason:
        return text or None
    if not MIN_REASON_LENGTH <= len(text) <= MAX_REASON_LENGTH:
        raise InvalidInput(f"reason: {MIN_REASON_LENGTH}-{MAX_REASON_LENGTH} characters")
    return text


@dataclass(frozen=True)
class OpenedIdentity:
    """The identity with its code, and the code of the child the guardian acts for (if any)."""

    identity: StoredIdentity
    child_code: str | None

    def __repr__(self) -> str:
        return f"OpenedIdentity({self.identity!r})"


def open_identity(
    session: Session,
    vault: IdentityVault,
    conversation: Conversation,
    viewer_id: int,
    viewer: str,
    reason: str | None,
    now: datetime,
    consultant: bool = False,
    participant: bool = False,
) -> OpenedIdentity:
    """The conversation's identity with the code(s), for ``viewer`` under the rule; the opening audited.

    :class:`InvalidInput` when a reason is needed and not given, :class:`NotFound` when the
    resident has not identified.
    """
    access = access_of(conversation.status, conversation.agent_id, viewer_id, consultant, participant)
    if not access.opens_code:
        raise Forbidden("a consultant sees the name only")
    stated = checked_reason(access, reason)
    identity = identity_of(session, vault, conversation.id)
    if identity is None:
        raise NotFound("the resident has not identified")
    audit.record(session, viewer, AUDIT_ACTION, conversation.id, now, basis=access.basis, reason=stated)
    return OpenedIdentity(identity, subject_code(session, vault, conversation.id))
