"""Fixtures of the identification tests: the client's keys (generated once) and a fake provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from handoff.identification.keys import ClientKeys, ensure_dev_key_file, load_client_keys
from tests.handoff.identification.support import FakeProvider, provider_key


@pytest.fixture(scope="session")
def client_keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_dev_key_file(tmp_path_factory.mktemp("oidc") / "client-keys.json")


@pytest.fixture(scope="session")
def client_keys(client_keys_file: Path) -> ClientKeys:
    return load_client_keys(client_keys_file)


@pytest.fixture(scope="session")
def first_provider_key():  # type: ignore[no-untyped-def]
    return provider_key("provider-1")


@pytest.fixture
def provider(client_keys: ClientKeys, first_provider_key) -> FakeProvider:  # type: ignore[no-untyped-def]
    return FakeProvider(client_keys, first_provider_key)
