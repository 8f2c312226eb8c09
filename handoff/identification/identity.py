"""The identity a provider vouched for, whatever the protocol, and why an identification failed.

The chat and the desk only ever see :class:`Identity` (and what
:mod:`handoff.identification.service` stores of it): an OpenID Connect client
(:mod:`handoff.identification.client`) makes one from an ID token's claims; a
SAML 2.0 adapter for Suomi.fi e-Identification would make one from the
assertion's attributes (the identity code is ``urn:oid:1.2.246.21``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stdnum.exceptions import ValidationError
from stdnum.fi import hetu

# Why an identification was refused; each has its own page (see the routes) and none names a person.
FailureReason = Literal[
    "unknown_ticket",  # the start link is unknown (mistyped, forged or purged)
    "ticket_used",  # the start link was used already
    "expired",  # the link or the login took too long
    "unknown_state",  # the callback's state is missing, forged or unknown
    "replay",  # the callback was used already
    "other_browser",  # the callback came to another browser than the one that started
    "cancelled",  # the resident cancelled at the provider (error=access_denied)
    "provider_error",  # the provider answered with another error, or the code exchange failed
    "unavailable",  # the provider could not be reached
    "invalid_token",  # malformed ID token, or an algorithm not allowed
    "bad_signature",  # the signature does not verify with the provider's keys
    "wrong_issuer",
    "wrong_audience",
    "expired_token",
    "wrong_nonce",
    "missing_claims",  # no valid identity code or names in the token
    "conversation_closed",  # the conversation ended before the identification finished
]


class IdentificationFailed(Exception):
    """An identification was refused; ``reason`` says why (for the page and the log)."""

    def __init__(self, reason: FailureReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: FailureReason = reason


@dataclass(frozen=True)
class Identity:
    """A strongly identified person: the Finnish identity code (normalised), names, who vouched.

    ``repr`` leaves the identity code out, so that it never reaches a log by accident.
    """

    identity_code: str
    given_name: str
    family_name: str
    provider: str

    def __repr__(self) -> str:
        return f"Identity(given_name={self.given_name!r}, family_name={self.family_name!r}, provider=…)"

    __str__ = __repr__

    @property
    def display_name(self) -> str:
        """``Etunimi Sukunimi``, as the chat shows it."""
        return f"{self.given_name} {self.family_name}"


MAX_NAME_LENGTH = 128


def normalise_identity_code(value: object) -> str:
    """A valid Finnish identity code (``hetu``) in canonical form, or :class:`IdentificationFailed`.

    Temporary codes (individual numbers 900–999, as the test persons have) are accepted:
    a provider has already vouched for the person.
    """
    if not isinstance(value, str):
        raise IdentificationFailed("missing_claims", "identity code missing")
    try:
        return str(hetu.validate(value.strip(), allow_temporary=True))
    except ValidationError:
        raise IdentificationFailed("missing_claims", "identity code not valid") from None


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_LENGTH:
        raise IdentificationFailed("missing_claims", f"{what} missing")
    return " ".join(value.split())


def identity_from_claims(claims: Mapping[str, Any], names: Mapping[str, str], provider: str) -> Identity:
    """The identity in ``claims``, reading the claim names of ``names`` (``OIDC_CLAIMS``)."""
    return Identity(
        identity_code=normalise_identity_code(claims.get(names["identity_code"])),
        given_name=_name(claims.get(names["given_name"]), "given name"),
        family_name=_name(claims.get(names["family_name"]), "family name"),
        provider=provider,
    )
