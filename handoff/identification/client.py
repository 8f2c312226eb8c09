"""The OpenID Connect relying party: discovery, the authorization request, the code exchange, the ID token.

The authorization code flow with PKCE (S256), ``state`` and ``nonce``;
``private_key_jwt`` client authentication (the assertion signed by Authlib's
:func:`private_key_jwt_sign`);
an ID token signed by the provider (an asymmetric algorithm from
:data:`SIGNING_ALGORITHMS`, never ``none`` or HMAC) and optionally encrypted to
the client's key (JWE; required with ``OIDC_ENCRYPTED_ID_TOKENS=1``). The
provider's metadata comes from ``<issuer>/.well-known/openid-configuration``
(its ``issuer`` must match exactly) and is cached for :data:`DISCOVERY_TTL_S`;
its signing keys come from its ``jwks_uri``, fetched again when a token names a
key id not seen yet (key rotation), at most once every
:data:`JWKS_REFETCH_MIN_S` seconds so that forged key ids cannot make the
service hammer the provider.

The identity is read from the ID token's claims only (``OIDC_CLAIMS``); the
access token is not used. Nothing here logs a claim.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwe, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet
from joserfc.registry import HeaderParameter

from handoff.identification.identity import IdentificationFailed, Identity, identity_from_claims
from handoff.identification.keys import ClientKeys

SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
KEY_ALGORITHMS = ("RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW")
CONTENT_ALGORITHMS = ("A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512")
DISCOVERY_TTL_S = 3600.0
JWKS_REFETCH_MIN_S = 30.0
LEEWAY_S = 60
# An ID token issued longer ago than this is refused even if it has not expired.
MAX_TOKEN_AGE_S = 600
HTTP_TIMEOUT_S = 10.0
# The client assertion of the token request (private_key_jwt) is valid this long.
ASSERTION_LIFETIME_S = 60
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _string_or_strings(value: Any) -> None:
    if not isinstance(value, str) and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise ValueError("must be a string or a list of strings")


# Claims a provider may copy into the header of an encrypted token (RFC 7519, section 5.3); they are
# checked in the signed token inside, never here.
_JWE_REGISTRY = jwe.JWERegistry(
    header_registry={
        "iss": HeaderParameter("Issuer", "str"),
        "sub": HeaderParameter("Subject", "str"),
        "aud": HeaderParameter("Audience", _string_or_strings),
    },
    algorithms=[*KEY_ALGORITHMS, *CONTENT_ALGORITHMS],
)


@dataclass(frozen=True)
class OidcConfig:
    """What the client needs to know: the provider, itself, and how to read the identity."""

    issuer: str
    client_id: str
    keys: ClientKeys
    claims: Mapping[str, str]
    scope: str = "openid profile personal_identity_code"
    require_encrypted: bool = False


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document the client uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass
class _Cache:
    metadata: ProviderMetadata | None = None
    metadata_at: float = 0.0
    jwks: KeySet | None = None
    jwks_at: float = float("-inf")
    jwks_fetches: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def code_challenge(code_verifier: str) -> str:
    """The S256 PKCE challenge of ``code_verifier``."""
    challenge: str = create_s256_code_challenge(code_verifier)
    return challenge


class OidcClient:
    """One provider's relying party.

    ``transport`` replaces the network (tests); ``clock`` gives epoch seconds for the token's times.
    """

    def __init__(
        self,
        config: OidcConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._transport = transport
        self._clock = clock
        self._monotonic = monotonic
        self._cache = _Cache()

    @property
    def jwks_fetches(self) -> int:
        """How many times the provider's keys were fetched (for tests and metrics)."""
        return self._cache.jwks_fetches

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self._transport, timeout=HTTP_TIMEOUT_S, follow_redirects=False)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http() as http:
                response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError):
            raise IdentificationFailed("unavailable", "provider document not available") from None
        if not isinstance(document, dict):
            raise IdentificationFailed("unavailable", "provider document is not an object")
        return document

    async def metadata(self) -> ProviderMetadata:
        """The provider's metadata, from discovery (cached); :class:`IdentificationFailed` ``unavailable``."""
        cache = self._cache
        async with cache.lock:
            if cache.metadata is not None and self._monotonic() - cache.metadata_at < DISCOVERY_TTL_S:
                return cache.metadata
            document = await self._get_json(f"{self.config.issuer}/.well-known/openid-configuration")
            if document.get("issuer") != self.config.issuer:
                raise IdentificationFailed("unavailable", "discovery document names another issuer")
            try:
                metadata = ProviderMetadata(
                    issuer=document["issuer"],
                    authorization_endpoint=str(document["authorization_endpoint"]),
                    token_endpoint=str(document["token_endpoint"]),
                    jwks_uri=str(document["jwks_uri"]),
                )
            except KeyError:
                raise IdentificationFailed("unavailable", "discovery document incomplete") from None
            cache.metadata, cache.metadata_at = metadata, self._monotonic()
            return metadata

    def authorization_url(
        self, metadata: ProviderMetadata, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        """Where to send the resident's browser: a code request with PKCE, state, nonce and a fresh login."""
        parameters = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.config.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(code_verifier),
            "code_challenge_method": "S256",
            # Never reuse a session someone else left at the provider on a shared device.
            "prompt": "login",
            "ui_locales": "fi",
        }
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return f"{metadata.authorization_endpoint}{separator}{urlencode(parameters)}"

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> str:
        """The ID token for ``code``: the token endpoint, with ``private_key_jwt`` and the PKCE verifier."""
        metadata = await self.metadata()
        keys = self.config.keys
        assertion = private_key_jwt_sign(
            keys.signing_key,
            client_id=self.config.client_id,
            token_endpoint=metadata.token_endpoint,
            alg=keys.signing_algorithm,
            header={"kid": keys.signing_key.kid} if keys.signing_key.kid else None,
            expires_in=ASSERTION_LIFETIME_S,
        )
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            "client_id": self.config.client_id,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
        }
        try:
            async with self._http() as http:
                response = await http.post(
                    metadata.token_endpoint, data=form, headers={"Accept": "application/json"}
                )
        except httpx.HTTPError:
            raise IdentificationFailed("unavailable", "token endpoint not reachable") from None
        try:
            token = response.json()
        except ValueError:
            token = None
        if response.status_code != 200 or not isinstance(token, dict):
            error = token.get("error") if isinstance(token, dict) else None
            raise IdentificationFailed(
                "provider_error", f"code exchange refused ({response.status_code}, {error})"
            )
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise IdentificationFailed("provider_error", "no ID token in the token response")
        return id_token

    async def _provider_keys(self, kid: str | None) -> KeySet:
        """The provider's keys; fetched again (bounded) when ``kid`` is not among them."""
        cache = self._cache
        async with cache.lock:
            known = cache.jwks is not None and (kid is None or _has_kid(cache.jwks, kid))
            recently = self._monotonic() - cache.jwks_at < JWKS_REFETCH_MIN_S
            if cache.jwks is None or (not known and not recently):
                metadata = cache.metadata
                if metadata is None:
                    raise IdentificationFailed("unavailable", "provider metadata not loaded")
                document = await self._get_json(metadata.jwks_uri)
                try:
                    cache.jwks = KeySet.import_key_set(document)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError):
                    raise IdentificationFailed("unavailable", "provider keys unreadable") from None
                cache.jwks_at = self._monotonic()
                cache.jwks_fetches += 1
            return cache.jwks

    async def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of ``id_token`` once decrypted (if encrypted), verified and checked.

        Refuses with :class:`IdentificationFailed`: ``invalid_token`` (malformed, ``none``/HMAC or
        another algorithm not allowed, not encrypted when required), ``bad_signature`` (no key of the
        provider verifies it), ``wrong_issuer``, ``wrong_audience`` (``aud`` without this client, or
        several audiences and ``azp`` not this client), ``expired_token`` (``exp`` passed, or issued
        more than :data:`MAX_TOKEN_AGE_S` ago), ``wrong_nonce``.
        """
        await self.metadata()
        signed = self._decrypt(id_token)
        header = _protected_header(signed)
        algorithm = header.get("alg")
        if algorithm not in SIGNING_ALGORITHMS:
            raise IdentificationFailed("invalid_token", f"signing algorithm not allowed: {algorithm!r}")
        kid = header.get("kid")
        keys = await self._provider_keys(kid if isinstance(kid, str) else None)
        key = _key_for(keys, kid if isinstance(kid, str) else None, algorithm)
        if key is None:
            raise IdentificationFailed("bad_signature", "no provider key for the token's key id")
        try:
            claims = dict(jwt.decode(signed, key, algorithms=[algorithm]).claims)
        except BadSignatureError:
            raise IdentificationFailed("bad_signature", "signature does not verify") from None
        except (JoseError, ValueError, TypeError):
            raise IdentificationFailed("invalid_token", "token not readable") from None
        self._check_claims(claims, nonce)
        return claims

    def _decrypt(self, token: str) -> str:
        parts = token.count(".")
        if parts == 2:
            if self.config.require_encrypted:
                raise IdentificationFailed("invalid_token", "the ID token was not encrypted")
            return token
        if parts != 4:
            raise IdentificationFailed("invalid_token", "not a compact JWS or JWE")
        if not self.config.keys.can_decrypt:
            raise IdentificationFailed("invalid_token", "encrypted ID token but no encryption key")
        kid = _protected_header(token).get("kid")
        for key in self.config.keys.keys:
            if key.get("use") != "enc" or (kid is not None and key.kid != kid):
                continue
            try:
                plaintext = jwe.decrypt_compact(token, key, registry=_JWE_REGISTRY).plaintext
                return plaintext.decode("ascii") if isinstance(plaintext, bytes) else str(plaintext)
            except (JoseError, ValueError, TypeError, UnicodeError):
                continue
        raise IdentificationFailed("invalid_token", "cannot decrypt the ID token")

    def _check_claims(self, claims: Mapping[str, Any], nonce: str) -> None:
        if claims.get("iss") != self.config.issuer:
            raise IdentificationFailed("wrong_issuer")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or self.config.client_id not in audiences:
            raise IdentificationFailed("wrong_audience")
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise IdentificationFailed("wrong_audience", "several audiences and azp is not this client")
        if "azp" in claims and claims["azp"] != self.config.client_id:
            raise IdentificationFailed("wrong_audience", "azp is another client")
        now = self._clock()
        expires, issued = claims.get("exp"), claims.get("iat")
        if not isinstance(expires, int | float) or not isinstance(issued, int | float):
            raise IdentificationFailed("invalid_token", "exp or iat missing")
        if isinstance(expires, bool) or isinstance(issued, bool):
            raise IdentificationFailed("invalid_token", "exp or iat not a time")
        if now > expires + LEEWAY_S or now - issued > MAX_TOKEN_AGE_S + LEEWAY_S:
            raise IdentificationFailed("expired_token")
        if issued > now + LEEWAY_S:
            raise IdentificationFailed("invalid_token", "issued in the future")
        given = claims.get("nonce")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), nonce.encode()):
            raise IdentificationFailed("wrong_nonce")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise IdentificationFailed("invalid_token", "sub missing")

    async def identify(self, code: str, code_verifier: str, redirect_uri: str, nonce: str) -> Identity:
        """Exchange ``code``, validate the ID token and read the identity from its claims."""
        id_token = await self.exchange_code(code, code_verifier, redirect_uri)
        claims = await self.validate_id_token(id_token, nonce)
        return identity_from_claims(claims, self.config.claims, self.config.issuer)


def _protected_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS or JWE, or :class:`IdentificationFailed` ``invalid_token``."""
    encoded = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, UnicodeError):
        raise IdentificationFailed("invalid_token", "header not readable") from None
    if not isinstance(header, dict):
        raise IdentificationFailed("invalid_token", "header not an object")
    return header


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys)


def _key_for(keys: KeySet, kid: str | None, algorithm: str) -> Any:
    """The provider's key named ``kid``; without a kid, the only signing key of the right type."""
    key_type = "EC" if algorithm.startswith("ES") else "RSA"
    candidates = [
        key
        for key in keys
        if key.key_type == key_type and key.get("use", "sig") == "sig" and (kid is None or key.kid == kid)
    ]
    return candidates[0] if len(candidates) == 1 else None
