"""The service's own keys at the identity provider (``OIDC_CLIENT_KEY_FILE``).

A JSON Web Key Set with private keys: the signing key (``"use": "sig"``)
signs the token request (``private_key_jwt``); the encryption key
(``"use": "enc"``), when there is one, decrypts encrypted ID tokens. The
provider knows the public halves (registered with the client, or read from
:func:`public_jwks`). In development, when the variable is unset, a set is
generated once into ``<HANDOFF_VAR_DIR>/oidc-client-keys.json`` (mode 0600);
the test provider reads the same file. Rotate by adding a new key with a new
``kid`` first (the provider learns it), then removing the old one.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

DEV_KEY_FILE_NAME = "oidc-client-keys.json"
SIGNING_ALGORITHM = "RS256"
ENCRYPTION_ALGORITHM = "RSA-OAEP-256"


class ClientKeyError(ValueError):
    """The client key file is missing, unreadable or has no signing key."""


@dataclass(frozen=True)
class ClientKeys:
    """The client's private keys: one for signing, optionally encryption keys."""

    keys: KeySet
    signing_key: RSAKey | Any
    signing_algorithm: str

    @property
    def can_decrypt(self) -> bool:
        """Whether the set holds an encryption key."""
        return any(key.get("use") == "enc" for key in self.keys)

    def __repr__(self) -> str:
        return f"ClientKeys(kids={[key.kid for key in self.keys]})"


def generate_key_set() -> dict[str, Any]:
    """A new private JWK set: an RS256 signing key and an RSA-OAEP-256 encryption key."""
    keys = []
    for use, alg in (("sig", SIGNING_ALGORITHM), ("enc", ENCRYPTION_ALGORITHM)):
        key = RSAKey.generate_key(
            2048, parameters={"use": use, "alg": alg, "kid": f"{use}-{secrets.token_hex(6)}"}
        )
        keys.append(key.as_dict(private=True))
    return {"keys": keys}


def ensure_dev_key_file(path: Path) -> Path:
    """Create ``path`` (mode 0600) with :func:`generate_key_set` unless it exists; returns it."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(generate_key_set(), handle)
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path


def load_client_keys(path: Path) -> ClientKeys:
    """The key set in ``path``; its first signing key (``use`` ``sig`` or unset) signs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        keys = KeySet.import_key_set(data)
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise ClientKeyError(f"{path}: not a readable JSON Web Key Set ({type(error).__name__})") from None
    for key in keys:
        if key.get("use", "sig") == "sig" and key.is_private:
            algorithm = key.get("alg") or SIGNING_ALGORITHM
            if not isinstance(algorithm, str):
                raise ClientKeyError(f"{path}: the signing key's alg is not a name")
            return ClientKeys(keys=keys, signing_key=key, signing_algorithm=algorithm)
    raise ClientKeyError(f'{path}: no private signing key ("use": "sig")')


def public_jwks(keys: ClientKeys) -> dict[str, Any]:
    """The public halves of the client's keys, as the provider may read them (``jwks``)."""
    return {"keys": [key.as_dict(private=False) for key in keys.keys]}
