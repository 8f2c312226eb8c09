"""Attachments encrypted at rest: one AES-256-GCM file per attachment, in a directory of the service's own.

The key is derived (HKDF-SHA256, an ``info`` of its own) from ``key_secret``, as
:mod:`handoff.identification.vault` does. A file is ``OPA1 ‖ nonce ‖ ciphertext ‖ tag``
named by the attachment's random id, which is also the associated data: a file
copied or renamed to another id does not decrypt. The directory (mode 0700) must
lie outside anything a web server serves.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Collection, Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ATTACHMENTS_DIR = "attachments"  # under HANDOFF_VAR_DIR, outside the web root
_MAGIC = b"OPA1"
_NONCE_BYTES = 12
_ID_BYTES = 24
_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24)


class AttachmentStoreError(Exception):
    """An attachment cannot be read or removed."""


class UnknownAttachment(AttachmentStoreError, LookupError):
    """No attachment has this id (or the id is not one the store makes)."""


class DamagedAttachment(AttachmentStoreError):
    """The file of an attachment does not decrypt (wrong key, another id's file, or tampered with)."""


class AttachmentStore:
    """Encrypted attachment files in ``directory``, with a key derived from ``key_secret``."""

    def __init__(self, directory: Path, key_secret: str) -> None:
        if len(key_secret) < 32:
            raise ValueError("the attachment key must be at least 32 characters")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"opastin attachment v1").derive(
            key_secret.encode("utf-8")
        )
        self._aead = AESGCM(key)
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)

    def __repr__(self) -> str:
        return f"AttachmentStore({str(self.directory)!r}, …)"

    def save(self, data: bytes) -> str:
        """Stores ``data`` encrypted under a new random id, and returns the id."""
        attachment_id = secrets.token_urlsafe(_ID_BYTES)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = _MAGIC + nonce + self._aead.encrypt(nonce, data, attachment_id.encode("ascii"))
        partial = self.directory / f".{attachment_id}.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(sealed)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, self._path(attachment_id))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return attachment_id

    def read(self, attachment_id: str) -> bytes:
        """The plaintext of ``attachment_id``; :class:`UnknownAttachment` or :class:`DamagedAttachment`."""
        try:
            sealed = self._path(attachment_id).read_bytes()
        except FileNotFoundError:
            raise UnknownAttachment(attachment_id) from None
        if not sealed.startswith(_MAGIC):
            raise DamagedAttachment(attachment_id)
        body = sealed[len(_MAGIC) :]
        try:
            return self._aead.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], attachment_id.encode("ascii"))
        except (InvalidTag, ValueError):
            raise DamagedAttachment(attachment_id) from None

    def exists(self, attachment_id: str) -> bool:
        """Whether a file for ``attachment_id`` is stored (``False`` for an invalid id)."""
        return _ID.fullmatch(attachment_id) is not None and self._path(attachment_id).is_file()

    def delete(self, attachment_id: str) -> bool:
        """Removes the file of ``attachment_id``; whether there was one (a bad id: UnknownAttachment)."""
        try:
            self._path(attachment_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def delete_all(self, attachment_ids: Iterable[str]) -> int:
        """Removes the files of ``attachment_ids`` (a purged conversation's); how many there were."""
        return sum(self.delete(attachment_id) for attachment_id in attachment_ids)

    def _path(self, attachment_id: str) -> Path:
        if _ID.fullmatch(attachment_id) is None:
            raise UnknownAttachment(attachment_id)
        return self.directory / attachment_id


def remove_orphans(directory: Path, kept: Collection[str], before: float) -> int:
    """Removes stored files whose id is not in ``kept`` and that were written before ``before``
    (a Unix time; a file being uploaded now gets its row a moment later). Needs no key: retention
    and data subject erasure remove the rows, this the files left without one. Returns how many."""
    removed = 0
    if not directory.is_dir():
        return 0
    for path in directory.iterdir():
        if _ID.fullmatch(path.name) is None or path.name in kept:
            continue
        try:
            if path.stat().st_mtime < before:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def remove_files(directory: Path, attachment_ids: Iterable[str]) -> int:
    """Removes the stored files of ``attachment_ids`` (no key needed); how many there were."""
    removed = 0
    for attachment_id in attachment_ids:
        if _ID.fullmatch(attachment_id) is None:
            continue
        try:
            (directory / attachment_id).unlink()
            removed += 1
        except FileNotFoundError:
            continue
    return removed
