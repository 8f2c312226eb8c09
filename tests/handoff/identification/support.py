"""A fake OpenID provider behind httpx.MockTransport, and tokens minted with joserfc (Authlib's JOSE)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin

import httpx
from joserfc import jwe, jwt
from joserfc.jwk import OctKey, RSAKey

from handoff.identification.client import OidcClient, OidcConfig
from handoff.identification.keys import ClientKeys
from handoff.settings import DEFAULT_OIDC_CLAIMS
from opastin.processes import free_port, stop_processes, wait_until_answering

ISSUER = "https://tunnistus.example.fi"
CLIENT_ID = "opastin-test"
TOKEN_ENDPOINT = f"{ISSUER}/token"
REDIRECT_URI = "https://chat.example.fi/tunnistautuminen/paluu"
# Made-up test persons (individual numbers 900-999, as in idp/persons.json).
AINO = {"personal_identity_code": "140385-911S", "given_name": "Aino", "family_name": "Testinen"}
MATTI = {"personal_identity_code": "021178-9265", "given_name": "Matti", "family_name": "Kokeilu"}


def provider_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


class FakeProvider:
    """Discovery, JWKS and a token endpoint that checks private_key_jwt and PKCE, in memory."""

    def __init__(self, client_keys: ClientKeys, key: RSAKey) -> None:
        self.client_keys = client_keys
        self.key = key
        self.published: list[RSAKey] = [key]
        self.jwks_requests = 0
        self.token_requests: list[dict[str, str]] = []
        self.id_token: str | None = None
        self.token_error: str | None = None
        self.discovery_issuer = ISSUER

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.discovery_issuer,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": TOKEN_ENDPOINT,
                    "jwks_uri": f"{ISSUER}/jwks",
                },
            )
        if path == "/jwks":
            self.jwks_requests += 1
            return httpx.Response(200, json={"keys": [key.as_dict(private=False) for key in self.published]})
        if path == "/token" and request.method == "POST":
            form = {name: values[0] for name, values in parse_qs(request.content.decode()).items()}
            self.token_requests.append(form)
            assertion = jwt.decode(
                form["client_assertion"], self.client_keys.signing_key, algorithms=["RS256"]
            )
            assert assertion.claims["iss"] == assertion.claims["sub"] == CLIENT_ID
            assert assertion.claims["aud"] == TOKEN_ENDPOINT
            assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            if self.token_error:
                return httpx.Response(400, json={"error": self.token_error})
            return httpx.Response(
                200, json={"access_token": "at", "token_type": "Bearer", "id_token": self.id_token}
            )
        return httpx.Response(404)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def claims(self, nonce: str, /, person: dict[str, str] = AINO, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "pairwise-123",
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            **person,
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, claims: dict[str, Any], key: Any = None, alg: str = "RS256", kid: str | None = "") -> str:
        key = key or self.key
        header: dict[str, Any] = {"alg": alg}
        kid = key.kid if kid == "" else kid
        if kid is not None:
            header["kid"] = kid
        return jwt.encode(header, claims, key, algorithms=[alg])

    def encrypt(self, token: str, key: Any = None) -> str:
        key = key or next(k for k in self.client_keys.keys if k.get("use") == "enc")
        public = RSAKey.import_key(key.as_dict(private=False))
        # As oidc-provider does: the issuer and audience copied into the header (RFC 7519, 5.3).
        header = {
            "alg": "RSA-OAEP-256",
            "enc": "A256GCM",
            "cty": "JWT",
            "kid": key.kid,
            "iss": ISSUER,
            "aud": CLIENT_ID,
        }
        registry = jwe.JWERegistry(algorithms=["RSA-OAEP-256", "A256GCM"], strict_check_header=False)
        return jwe.encrypt_compact(header, token, public, registry=registry)


def oidc_client(provider: FakeProvider, require_encrypted: bool = False) -> OidcClient:
    config = OidcConfig(
        issuer=ISSUER,
        client_id=CLIENT_ID,
        keys=provider.client_keys,
        claims=dict(DEFAULT_OIDC_CLAIMS),
        require_encrypted=require_encrypted,
    )
    return OidcClient(config, transport=provider.transport())


def unsigned(claims: dict[str, Any]) -> str:
    """A token with ``alg: none`` (which must never be accepted)."""
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


def hmac_signed(claims: dict[str, Any], kid: str) -> str:
    """A token MACed with a shared secret (HS256), which an ID token from the provider must never be."""
    return jwt.encode({"alg": "HS256", "kid": kid}, claims, OctKey.generate_key(256), algorithms=["HS256"])


IDP_DIR = Path(__file__).resolve().parents[3] / "idp"


@contextlib.contextmanager
def running_test_provider(
    client_keys_file: Path, redirect_uris: list[str], encrypt: bool, log: Path
) -> Iterator[str]:
    """Start the test identity provider (``idp/server.js``, node from PATH) on a free port; its issuer."""
    node = shutil.which("node")
    assert node, "node is not on PATH: the test identity provider needs Node.js 20.19 or later"
    assert (IDP_DIR / "node_modules" / "oidc-provider").is_dir(), "run `npm ci` in idp/ (make install does)"
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "IDP_PORT": str(port),
        "IDP_ISSUER": issuer,
        "IDP_CLIENT_ID": "opastin",
        "IDP_CLIENT_JWKS": str(client_keys_file),
        "IDP_REDIRECT_URIS": ",".join(redirect_uris),
        "IDP_ENCRYPT_ID_TOKENS": "1" if encrypt else "0",
    }
    with log.open("wb") as output:
        process = subprocess.Popen([node, "server.js"], cwd=IDP_DIR, env=env, stdout=output, stderr=output)
        try:
            wait_until_answering(f"{issuer}/.well-known/openid-configuration", [process], timeout_s=30)
            yield issuer
        finally:
            stop_processes([process], timeout_s=10)


def log_in_at_test_provider(authorization_url: str, redirect_uri: str, person: str | None) -> str:
    """Drive the test provider's pages over HTTP as a browser would: choose ``person`` (``None``: cancel).

    Returns the URL the provider finally redirects to (the service's callback with code or error).
    """
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        url = authorization_url
        for _ in range(12):
            response = browser.get(url)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["location"])
                if url.startswith(redirect_uri):
                    return url
                continue
            assert response.status_code == 200, response.text
            assert "Valitse testihenkilö" in response.text
            action = re.search(r'<form method="post" action="([^"]+/(login|abort))"', response.text)
            assert action is not None
            if person is None:
                target = re.search(r'action="([^"]+/abort)"', response.text)
                assert target is not None
                posted = browser.post(urljoin(url, target.group(1)))
            else:
                assert f'value="{person}"' in response.text
                posted = browser.post(urljoin(url, action.group(1)), data={"person": person})
            assert posted.status_code in (302, 303), posted.text
            url = urljoin(url, posted.headers["location"])
            if url.startswith(redirect_uri):
                return url
        raise AssertionError("the provider did not redirect back")
