"""The OpenID Connect client: every way an ID token is refused, key rotation, PKCE and private_key_jwt."""

from __future__ import annotations

import time

import pytest
from joserfc.jwk import RSAKey

from handoff.identification import client as client_module
from handoff.identification.client import OidcClient, code_challenge
from handoff.identification.identity import IdentificationFailed
from tests.handoff.identification.support import (
    AINO,
    CLIENT_ID,
    ISSUER,
    REDIRECT_URI,
    FakeProvider,
    hmac_signed,
    oidc_client,
    provider_key,
    unsigned,
)

NONCE = "n-0123456789abcdef"


async def refused(client: OidcClient, token: str, nonce: str = NONCE) -> str:
    with pytest.raises(IdentificationFailed) as caught:
        await client.validate_id_token(token, nonce)
    return caught.value.reason


async def test_a_valid_signed_token_gives_its_claims(provider: FakeProvider) -> None:
    claims = await oidc_client(provider).validate_id_token(provider.sign(provider.claims(NONCE)), NONCE)
    assert claims["personal_identity_code"] == AINO["personal_identity_code"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://evil.example"}, "wrong_issuer"),
        ({"iss": None}, "wrong_issuer"),
        ({"aud": "another-client"}, "wrong_audience"),
        ({"aud": [CLIENT_ID, "another-client"]}, "wrong_audience"),  # several audiences, no azp
        ({"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}, "wrong_audience"),
        ({"azp": "another-client"}, "wrong_audience"),
        ({"exp": int(time.time()) - 120}, "expired_token"),
        ({"iat": int(time.time()) - 3600, "exp": int(time.time()) + 300}, "expired_token"),  # too old
        ({"iat": int(time.time()) + 3600}, "invalid_token"),  # issued in the future
        ({"exp": None}, "invalid_token"),
        ({"nonce": "someone-elses-nonce"}, "wrong_nonce"),
        ({"nonce": None}, "wrong_nonce"),
        ({"sub": None}, "invalid_token"),
    ],
)
async def test_bad_claims_are_refused(provider: FakeProvider, changes: dict, reason: str) -> None:
    token = provider.sign(provider.claims(NONCE, **changes))
    assert await refused(oidc_client(provider), token) == reason


async def test_several_audiences_with_this_client_as_azp_are_accepted(provider: FakeProvider) -> None:
    token = provider.sign(provider.claims(NONCE, aud=[CLIENT_ID, "api"], azp=CLIENT_ID))
    assert (await oidc_client(provider).validate_id_token(token, NONCE))["azp"] == CLIENT_ID


async def test_a_token_signed_by_another_key_under_the_providers_kid_is_refused(
    provider: FakeProvider,
) -> None:
    forged = provider.sign(provider.claims(NONCE), key=provider_key(provider.key.kid))
    assert await refused(oidc_client(provider), forged) == "bad_signature"


async def test_a_tampered_payload_is_refused(provider: FakeProvider) -> None:
    header, _payload, signature = provider.sign(provider.claims(NONCE)).split(".")
    other = provider.sign(provider.claims(NONCE, person={**AINO, "personal_identity_code": "021178-9265"}))
    assert (
        await refused(oidc_client(provider), f"{header}.{other.split('.')[1]}.{signature}") == "bad_signature"
    )


async def test_alg_none_and_hmac_are_refused(provider: FakeProvider) -> None:
    client = oidc_client(provider)
    assert await refused(client, unsigned(provider.claims(NONCE))) == "invalid_token"
    assert await refused(client, hmac_signed(provider.claims(NONCE), provider.key.kid)) == "invalid_token"


async def test_garbage_is_refused(provider: FakeProvider) -> None:
    client = oidc_client(provider)
    for token in ("", "abc", "a.b.c", "a.b.c.d", "a.b.c.d.e"):
        assert await refused(client, token) == "invalid_token"


async def test_rotated_provider_keys_are_fetched_again_but_only_so_often(
    provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    client = OidcClient(oidc_client(provider).config, provider.transport(), monotonic=lambda: clock[0])
    await client.validate_id_token(provider.sign(provider.claims(NONCE)), NONCE)
    assert provider.jwks_requests == 1
    await client.validate_id_token(provider.sign(provider.claims(NONCE)), NONCE)
    assert provider.jwks_requests == 1  # cached

    clock[0] += client_module.JWKS_REFETCH_MIN_S + 1
    rotated = provider_key("provider-2")
    provider.published = [rotated]  # the provider rotated its key
    claims = await client.validate_id_token(provider.sign(provider.claims(NONCE), key=rotated), NONCE)
    assert claims["sub"] and provider.jwks_requests == 2

    # A burst of made-up key ids right after: refused without asking the provider again.
    for index in range(5):
        forged = provider.sign(provider.claims(NONCE), key=provider_key(f"made-up-{index}"))
        assert await refused(client, forged) == "bad_signature"
    assert provider.jwks_requests == 2


async def test_a_kid_seen_for_the_first_time_is_fetched_at_once_after_the_interval(
    provider: FakeProvider,
) -> None:
    clock = [1000.0]
    client = OidcClient(oidc_client(provider).config, provider.transport(), monotonic=lambda: clock[0])
    await client.validate_id_token(provider.sign(provider.claims(NONCE)), NONCE)
    new_key = provider_key("provider-3")
    provider.published = [provider.key, new_key]
    # Within the interval the new key is not yet known: refused, no fetch.
    assert await refused(client, provider.sign(provider.claims(NONCE), key=new_key)) == "bad_signature"
    clock[0] += client_module.JWKS_REFETCH_MIN_S + 1
    assert await client.validate_id_token(provider.sign(provider.claims(NONCE), key=new_key), NONCE)


async def test_encrypted_id_tokens_are_decrypted_and_can_be_required(provider: FakeProvider) -> None:
    signed = provider.sign(provider.claims(NONCE))
    encrypted = provider.encrypt(signed)
    assert encrypted.count(".") == 4
    assert (await oidc_client(provider).validate_id_token(encrypted, NONCE))["given_name"] == "Aino"
    required = oidc_client(provider, require_encrypted=True)
    assert (await required.validate_id_token(encrypted, NONCE))["family_name"] == "Testinen"
    assert await refused(required, signed) == "invalid_token"


async def test_a_token_encrypted_to_another_key_is_refused(provider: FakeProvider) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "enc-other", "use": "enc"})
    encrypted = provider.encrypt(provider.sign(provider.claims(NONCE)), key=other)
    assert await refused(oidc_client(provider), encrypted) == "invalid_token"


async def test_an_encrypted_token_must_still_be_signed_by_the_provider(provider: FakeProvider) -> None:
    forged = provider.encrypt(provider.sign(provider.claims(NONCE), key=provider_key(provider.key.kid)))
    assert await refused(oidc_client(provider), forged) == "bad_signature"
    assert await refused(oidc_client(provider), provider.encrypt(unsigned(provider.claims(NONCE)))) == (
        "invalid_token"
    )


async def test_discovery_must_name_the_configured_issuer(provider: FakeProvider) -> None:
    provider.discovery_issuer = "https://other.example.fi"
    with pytest.raises(IdentificationFailed) as caught:
        await oidc_client(provider).metadata()
    assert caught.value.reason == "unavailable"


def test_the_authorization_url_asks_for_a_code_with_pkce_state_nonce_and_a_fresh_login(
    provider: FakeProvider,
) -> None:
    from urllib.parse import parse_qs, urlsplit

    client = oidc_client(provider)
    metadata = client_module.ProviderMetadata(ISSUER, f"{ISSUER}/auth", f"{ISSUER}/token", f"{ISSUER}/jwks")
    url = client.authorization_url(metadata, REDIRECT_URI, "the-state", "the-nonce", "v" * 64)
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/auth?")
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile personal_identity_code",
        "state": "the-state",
        "nonce": "the-nonce",
        "code_challenge": code_challenge("v" * 64),
        "code_challenge_method": "S256",
        "prompt": "login",
        "ui_locales": "fi",
    }
    assert query["code_challenge"] != "v" * 64


async def test_identify_exchanges_the_code_with_private_key_jwt_and_pkce(provider: FakeProvider) -> None:
    provider.id_token = provider.encrypt(provider.sign(provider.claims(NONCE)))
    identity = await oidc_client(provider).identify("the-code", "the-verifier", REDIRECT_URI, NONCE)
    assert (identity.given_name, identity.family_name, identity.provider) == ("Aino", "Testinen", ISSUER)
    assert identity.identity_code == "140385-911S"
    assert "140385" not in repr(identity) and "140385" not in str(identity)
    (form,) = provider.token_requests
    assert form["grant_type"] == "authorization_code"
    assert (form["code"], form["code_verifier"], form["redirect_uri"]) == (
        "the-code",
        "the-verifier",
        REDIRECT_URI,
    )
    assert "client_secret" not in form


async def test_an_error_from_the_token_endpoint_is_a_provider_error(provider: FakeProvider) -> None:
    provider.token_error = "invalid_grant"
    with pytest.raises(IdentificationFailed) as caught:
        await oidc_client(provider).identify("the-code", "the-verifier", REDIRECT_URI, NONCE)
    assert caught.value.reason == "provider_error"


@pytest.mark.parametrize(
    "person",
    [
        {"given_name": "Aino", "family_name": "Testinen"},  # no identity code
        {**AINO, "personal_identity_code": "140385-911T"},  # wrong check character
        {**AINO, "given_name": ""},
        {**AINO, "family_name": None},
    ],
)
async def test_a_token_without_a_valid_identity_is_refused(provider: FakeProvider, person: dict) -> None:
    provider.id_token = provider.sign(provider.claims(NONCE, person=person))
    with pytest.raises(IdentificationFailed) as caught:
        await oidc_client(provider).identify("the-code", "the-verifier", REDIRECT_URI, NONCE)
    assert caught.value.reason == "missing_claims"
