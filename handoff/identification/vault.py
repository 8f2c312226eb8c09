"""The identity code encrypted at rest: AES-256-GCM, each value bound to its conversation.

The key is derived (HKDF-SHA256) from ``OPASTIN_IDENTITY_KEY``; in development,
when it is unset, from a secret generated once into
``<HANDOFF_VAR_DIR>/identity-key`` (mode 0600), as the other development
secrets are (:mod:`opastin.tokens`). Production refuses to run without the
variable (:class:`handoff.settings.Settings`).

A stored value is ``v1.<base64url(nonce ‖ ciphertext ‖ tag)>``; the
conversation id is the associated data, so a value copied to another
conversation's row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from handoff.settings import Settings
from opastin.tokens import shared_token

KEY_FILE_NAME = "identity-key"
VERSION = "v1"
_NONCE_BYTES = 12


class VaultError(ValueError):
    """A stored identity code cannot be decrypted (wrong key, or tampered with)."""


class IdentityVault:
    """Encrypts and decrypts identity codes with a key derived from ``secret``."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the identity key must be at least 32 characters")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"opastin identity code v1").derive(
            secret.encode("utf-8")
        )
        self._aead = AESGCM(key)
        self._mac_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"opastin identity choice v1"
        ).derive(secret.encode("utf-8"))

    def __repr__(self) -> str:
        return "IdentityVault(…)"

    def encrypt(self, identity_code: str, conversation_id: str) -> str:
        """``identity_code`` encrypted for the row of ``conversation_id``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, identity_code.encode("utf-8"), conversation_id.encode("utf-8"))
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, stored: str, conversation_id: str) -> str:
        """The identity code of ``stored``, or :class:`VaultError`."""
        version, _, body = stored.partition(".")
        if version != VERSION:
            raise VaultError("unknown format")
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], conversation_id.encode("utf-8")
            )
        except (InvalidTag, ValueError):
            raise VaultError("cannot decrypt") from None
        return plain.decode("utf-8")

    def sign(self, message: str) -> str:
        """An HMAC-SHA256 of ``message`` under a key of its own (for tokens the browser carries)."""
        digest = hmac.new(self._mac_key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def verify(self, message: str, signature: str) -> bool:
        """Whether ``signature`` is :meth:`sign` of ``message`` (compared in constant time)."""
        return hmac.compare_digest(self.sign(message).encode("ascii"), signature.encode("ascii", "replace"))


def identity_secret(settings: Settings) -> str:
    """``OPASTIN_IDENTITY_KEY``, or the development key file's secret (created on first use)."""
    return shared_token(settings.identity_key, settings.var_dir / KEY_FILE_NAME)


def load_vault(settings: Settings) -> IdentityVault:
    """The vault of ``OPASTIN_IDENTITY_KEY``, or of the development key file (created on first use)."""
    return IdentityVault(identity_secret(settings))
