"""The key ring's rules and the settings that feed it; no database needed."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError

from vault_service.config import Settings
from vault_service.keyring import DEVELOPMENT_MASTER_KEYS, ConfiguredKeyRing, KeyRingError, UnwrapFailed

K1 = base64.b64encode(os.urandom(32)).decode()
K2 = base64.b64encode(os.urandom(32)).decode()
REQUIRED = {
    "kafka_bootstrap_servers": "k:9092",
    "mongodb_url": "mongodb://m/",
    "auth_public_key": "pem",
    "keystore_path": "keys.sqlite3",
}


def test_newest_version_wraps_and_older_ones_still_unwrap() -> None:
    old = ConfiguredKeyRing.from_config(f"1:{K1}")
    version, wrapped = old.wrap(b"k" * 32, buyer_id="buyer-ada")
    both = ConfiguredKeyRing.from_config(f"1:{K1},2:{K2}")
    assert (version, both.active_version) == (1, 2)
    assert both.unwrap(wrapped, version=1, buyer_id="buyer-ada") == b"k" * 32
    with pytest.raises(UnwrapFailed):
        both.unwrap(wrapped, version=1, buyer_id="buyer-bob")


def test_retired_and_unknown_versions_are_refused() -> None:
    ring = ConfiguredKeyRing.from_config(f"1:{K1},2:{K2}", retired=frozenset({1}))
    _, wrapped = ConfiguredKeyRing.from_config(f"1:{K1}").wrap(b"k" * 32, buyer_id="buyer-ada")
    with pytest.raises(KeyRingError, match="v1 is not available"):
        ring.unwrap(wrapped, version=1, buyer_id="buyer-ada")
    with pytest.raises(KeyRingError, match="retired"):
        ConfiguredKeyRing.from_config(f"1:{K1},2:{K2}", active_version=1, retired=frozenset({1}))


@pytest.mark.parametrize("spec", ["", "1:not-base64!", f"x:{K1}", "1:" + base64.b64encode(b"short").decode()])
def test_unusable_key_configuration_is_refused(spec: str) -> None:
    with pytest.raises(KeyRingError):
        ConfiguredKeyRing.from_config(spec)


def test_the_development_key_ring_only_when_development_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(environment="development", **REQUIRED).master_keys == DEVELOPMENT_MASTER_KEYS
    for environment in ("test", "staging", "production"):
        with pytest.raises(ValidationError, match="required unless ENVIRONMENT=development"):
            Settings(environment=environment, **REQUIRED)
        with pytest.raises(ValidationError, match="development key"):
            Settings(environment=environment, master_keys=DEVELOPMENT_MASTER_KEYS, **REQUIRED)
    assert Settings(environment="production", master_keys=f"1:{K1}", **REQUIRED).master_keys == f"1:{K1}"
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    with pytest.raises(ValidationError) as missing:
        Settings(**REQUIRED)
    assert [e["loc"] for e in missing.value.errors()] == [("ENVIRONMENT",)]
