"""Fixtures for merchant-relay tests: a real vault-service process on this test's topics (it
trusts this test's checkout and relay signers), the relay's HTTP app running its lifespan
in-process on the same topics and a database of its own, and a merchant's webhook receiver; the
merchant API's fixtures come from relay_api_fixtures.py."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from fastapi.testclient import TestClient
from relay_api_fixtures import api_settings, merchant_issuer, relay_client, tweet_signer
from relay_support import PUDDLE, Receiver, VaultCalls, new_secret

from buybutton.auth import TokenIssuer
from buybutton.topics import MERCHANT_ORDERS
from buybutton.trusted_issuers import trusted_issuers_json
from devstack.endpoints import Endpoints
from devstack.identity import TrustedSigner
from devstack.service_process import RunningService, running_service
from merchant_relay.app import create_app
from merchant_relay.config import Settings

__all__ = ["api_settings", "merchant_issuer", "relay_client", "tweet_signer"]  # fixtures


@pytest.fixture
def relay_signer(trusted_signer: Callable[..., TrustedSigner]) -> TrustedSigner:
    return trusted_signer(
        "merchant-relay", kinds=["service"], subjects=["merchant-relay"], scopes=["shipping:read"]
    )


@pytest.fixture
def vault_service(
    endpoints: Endpoints,
    service_settings: dict[str, str],
    signing_key: tuple[str, str],
    trusted_signer: Callable[..., TrustedSigner],
    relay_signer: TrustedSigner,
    tmp_path: Path,
) -> Iterator[tuple[RunningService, VaultCalls]]:
    checkout = trusted_signer(
        "checkout-service", kinds=["service"], subjects=["checkout-service"], scopes=["profiles:write"]
    )
    env = {
        **endpoints.as_env(),
        "AUTH_PUBLIC_KEY": signing_key[1],
        "KAFKA_TOPIC_PREFIX": service_settings["topic_prefix"],
        "AUTH_TRUSTED_ISSUERS": trusted_issuers_json(checkout.spec, relay_signer.spec),
        "VAULT_MONGODB_DATABASE": service_settings["mongodb_database"][:50] + "_vault",
        "VAULT_KEYSTORE_PATH": str(tmp_path / "vault-keys.sqlite3"),
        "VAULT_MASTER_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    with running_service("vault-service", env) as vault:
        yield vault, VaultCalls(vault.url, TokenIssuer(signing_key[0]), checkout.issuer)


@pytest.fixture
def relay_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def relay_settings(
    service_settings: dict[str, str],
    vault_service: tuple[RunningService, VaultCalls],
    relay_signer: TrustedSigner,
    relay_overrides: dict[str, Any],
) -> Settings:
    options: dict[str, Any] = {
        "service_signing_key": relay_signer.private_pem,
        "vault_url": vault_service[0].url,
        "vault_timeout_s": 2,
        "publish_timeout_s": 5,
        "attempt_timeout_s": 2,
        "lease_s": 10,
        "backoff_base_s": 0.1,
        "backoff_cap_s": 0.5,
        "delivery_idle_s": 0.05,
        "outbox_idle_s": 0.05,
        "delivery_lanes": 8,
        "endpoint_rules": "local",  # the test's receiver listens on 127.0.0.1
        # groups of this test's own (the statistics' too): another test's relay never joins them
        "consumer_group": "relay-" + service_settings["topic_prefix"].rstrip("."),
        **relay_overrides,
    }
    return Settings(**service_settings, **options)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(new_secret()).start()
    yield found
    found.stop()


@pytest.fixture
async def merchant_topic_cleanup(kafka_admin: AIOKafkaAdminClient, topic_prefix: str) -> AsyncIterator[str]:
    name = MERCHANT_ORDERS.for_merchant(PUDDLE, topic_prefix)
    yield name
    if name in await kafka_admin.list_topics():
        await kafka_admin.delete_topics([name])


@pytest.fixture
def relay_db(mongo_client: Any, relay_settings: Settings) -> Iterator[Any]:
    yield mongo_client[relay_settings.database_name]
    mongo_client.drop_database(relay_settings.database_name)


@pytest.fixture
def relay(relay_settings: Settings, relay_db: Any, merchant_topic_cleanup: str) -> Iterator[TestClient]:
    with TestClient(create_app(relay_settings)) as client:
        yield client
