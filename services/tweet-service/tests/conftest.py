"""Fixtures for tweet-service tests (tokens come from the shared ``issuer`` fixture): the HTTP
app running its lifespan on this test's own topics and database (signing merchant tokens with
``tweet_signer``'s key), registered merchants with API
keys, and rollout rules put on this test's rules topic before the app starts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tweet_support import GALOSH, PUDDLE, publish_rules, register, rules

from buybutton.auth import TokenIssuer
from devstack.identity import TrustedSigner
from tweet_service.app import create_app
from tweet_service.config import Settings


@pytest.fixture(scope="session")
def tweet_signer(trusted_signer: Callable[..., TrustedSigner]) -> TrustedSigner:
    """tweet-service's merchant token key, and what checkout is told to trust it for."""
    return trusted_signer("tweet-service", kinds=["merchant"])


@pytest.fixture
def tweet_settings(service_settings: dict[str, str], tweet_signer: TrustedSigner) -> Settings:
    return Settings(**service_settings, rules_wait_s=10, merchant_token_signing_key=tweet_signer.private_pem)


@pytest.fixture
async def rules_in_force(tweet_settings: Settings) -> AsyncIterator[None]:
    """Puddle & Co. allow-listed, 100 % of US buyers: on the rules topic before the app starts."""
    await publish_rules(tweet_settings.kafka_bootstrap_servers, tweet_settings.topic_prefix, rules())
    yield


@pytest.fixture
def client(tweet_settings: Settings, rules_in_force: None, mongo_client: Any) -> Iterator[TestClient]:
    with TestClient(create_app(tweet_settings)) as test_client:
        yield test_client
    mongo_client.drop_database(tweet_settings.database_name)


@pytest.fixture
def puddle_key(client: TestClient, issuer: TokenIssuer) -> str:
    return register(client, issuer, PUDDLE)


@pytest.fixture
def galosh_key(client: TestClient, issuer: TokenIssuer) -> str:
    return register(client, issuer, GALOSH)
