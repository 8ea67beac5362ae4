"""``vault-admin`` on the key store, with the service's own environment: ``keys`` counts data keys
per master-key version, ``rewrap`` moves them to the active one, ``retire`` refuses a version in
use and records one that is not, and ``import-keys`` copies the data keys of the key store the
vault kept in MongoDB before, after which the profiles sealed under them read as before, and
never the key of a buyer erased meanwhile."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from bson import Binary
from pymongo.database import Database
from typer.testing import CliRunner
from vault_support import KEY_V1, KEY_V2, full_profile

from buybutton.auth import Principal
from devstack.endpoints import Endpoints
from vault_service.cli import app
from vault_service.keyring import ConfiguredKeyRing
from vault_service.keystore import SqliteKeyStore
from vault_service.profile import ENCRYPTED_FIELDS, ProfileIn
from vault_service.vault import Vault

CHECKOUT = Principal("service", "checkout-service", frozenset({"profiles:write"}))


@pytest.fixture
def admin_env(
    monkeypatch: pytest.MonkeyPatch, endpoints: Endpoints, mongo_db: Database[dict[str, Any]], tmp_path: Path
) -> Path:
    keystore = tmp_path / "keystore" / "keys.sqlite3"
    for name, value in {
        "ENVIRONMENT": "test",
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        "MONGODB_URL": endpoints.mongodb_url,
        "AUTH_PUBLIC_KEY": "unused by vault-admin",
        "VAULT_MONGODB_DATABASE": mongo_db.name,
        "VAULT_KEYSTORE_PATH": str(keystore),
        "VAULT_MASTER_KEYS": f"1:{KEY_V1},2:{KEY_V2}",
    }.items():
        monkeypatch.setenv(name, value)
    return keystore


def run(*arguments: str) -> str:
    result = CliRunner().invoke(app, list(arguments))
    print(f"vault-admin {' '.join(arguments)} -> exit {result.exit_code}\n{result.output}")
    assert result.exit_code == 0, result.output
    return result.output


def test_keys_rewrap_and_retire_work_on_the_key_store(
    admin_env: Path, mongo_db: Database[dict[str, Any]]
) -> None:
    keys = SqliteKeyStore(admin_env)
    vault = Vault(mongo_db, ConfiguredKeyRing.from_config(f"1:{KEY_V1}"), keys)
    for n in range(5):
        vault.save(f"buyer-{n}", ProfileIn.model_validate(full_profile()), actor=CHECKOUT)

    assert "│ 1                  │ 5" in run("keys")
    refused = CliRunner().invoke(app, ["retire", "1"])
    assert refused.exit_code == 1 and "still wraps 5 data key(s)" in refused.output
    assert "moved 5 data key(s) to v2; usage now {2: 5}" in run("rewrap")
    assert "v1 retired" in run("retire", "1")
    assert keys.usage() == {2: 5}
    keys.close()


def test_import_keys_brings_the_former_mongodb_key_store_over(
    admin_env: Path, mongo_db: Database[dict[str, Any]], mongo_client: Any
) -> None:
    """Profiles sealed before the key store moved: their wrapped keys are in MongoDB."""
    former_name = f"{mongo_db.name[:50]}_keys"
    former = mongo_client[former_name]["data_keys"]
    ring = ConfiguredKeyRing.from_config(f"1:{KEY_V1}")
    staging = SqliteKeyStore(admin_env.parent / "staging.sqlite3")
    vault = Vault(mongo_db, ring, staging)
    try:
        for n in range(4):
            vault.save(f"buyer-{n}", ProfileIn.model_validate(full_profile(f"-{n}")), actor=CHECKOUT)
            key = staging.get(f"buyer-{n}")
            assert key is not None
            former.insert_one(
                {
                    "_id": key.buyer_id,
                    "key_id": key.key_id,
                    "master_version": key.master_version,
                    "wrapped": Binary(key.wrapped),
                    "created_at": uuid.uuid4().hex,
                }
            )
        staging.close()
        keys = SqliteKeyStore(admin_env)
        imported = Vault(mongo_db, ring, keys)
        assert imported.erase("buyer-3", actor=Principal("buyer", "buyer-3")), "erased before the import"
        skipped = "'skipped (no live profile is sealed under it)': 1"
        assert f"{{'copied': 3, {skipped}}}" in run("import-keys", "--from-database", former_name)
        assert f"{{'already in the key store': 3, {skipped}}}" in run(
            "import-keys", "--from-database", former_name
        )
        for n in range(3):
            stored = imported.read(f"buyer-{n}", ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="test")
            assert stored is not None and stored.values["contact_email"] == f"ada.canary-{n}@example.com"
        assert keys.get("buyer-3") is None
        keys.close()
    finally:
        mongo_client.drop_database(former_name)
