"""Fixtures for vault tests: key rings, a vault on this test's own database and key store, and
the HTTP app with this test's own topics (tokens come from the shared ``issuer`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database
from vault_support import KEY_V1

from vault_service.app import create_app
from vault_service.config import Settings
from vault_service.keyring import ConfiguredKeyRing
from vault_service.keystore import SqliteKeyStore
from vault_service.vault import Vault


@pytest.fixture
def keyring_v1() -> ConfiguredKeyRing:
    return ConfiguredKeyRing.from_config(f"1:{KEY_V1}")


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[SqliteKeyStore]:
    """A key store of this test's own."""
    store = SqliteKeyStore(tmp_path / "keystore" / "keys.sqlite3")
    yield store
    store.close()


@pytest.fixture
def vault(mongo_db: Database[dict[str, Any]], keyring_v1: ConfiguredKeyRing, keys: SqliteKeyStore) -> Vault:
    vault = Vault(mongo_db, keyring_v1, keys)
    vault.ensure_indexes()
    return vault


@pytest.fixture
def vault_settings(service_settings: dict[str, str], tmp_path: Path) -> Settings:
    return Settings(
        **service_settings,
        master_keys=f"1:{KEY_V1}",
        keystore_path=tmp_path / "app-keystore" / "keys.sqlite3",
    )


@pytest.fixture
def client(vault_settings: Settings, mongo_client: Any) -> Iterator[TestClient]:
    with TestClient(create_app(vault_settings)) as test_client:
        yield test_client
    mongo_client.drop_database(vault_settings.database_name)
