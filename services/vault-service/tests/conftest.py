"""Fixtures for vault tests: key rings, a vault on this test's own database, and the HTTP app
with this test's own topics (tokens come from the shared ``issuer`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database
from vault_support import KEY_V1

from vault_service.app import create_app
from vault_service.config import Settings
from vault_service.keyring import ConfiguredKeyRing
from vault_service.vault import Vault


@pytest.fixture
def keyring_v1() -> ConfiguredKeyRing:
    return ConfiguredKeyRing.from_config(f"1:{KEY_V1}")


@pytest.fixture
def vault(mongo_db: Database[dict[str, Any]], keyring_v1: ConfiguredKeyRing) -> Vault:
    vault = Vault(mongo_db, keyring_v1)
    vault.ensure_indexes()
    return vault


@pytest.fixture
def vault_settings(service_settings: dict[str, str]) -> Settings:
    return Settings(**service_settings, master_keys=f"1:{KEY_V1}")


@pytest.fixture
def client(vault_settings: Settings, mongo_client: Any) -> Iterator[TestClient]:
    with TestClient(create_app(vault_settings)) as test_client:
        yield test_client
    mongo_client.drop_database(vault_settings.database_name)
    mongo_client.drop_database(vault_settings.keystore_database_name)
