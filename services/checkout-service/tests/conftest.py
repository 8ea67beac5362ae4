"""Fixtures for checkout tests (tokens come from the shared ``issuer`` fixture): the rollout
rules, Puddle & Co.'s raincoat tweet (5 units of size M) and the merchants' terms put on this
test's own topics, the fake Stripe under this test's own key, and the HTTP app running its
lifespan on them, served once its view holds the raincoat."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from checkout_support import GALOSH, GALOSH_TWEET, posted, publish, rules, terms, wait_for_view
from fastapi.testclient import TestClient

from buybutton.auth import generate_signing_key
from checkout_service.app import create_app
from checkout_service.config import Settings
from devstack.endpoints import FAKE_STRIPE_SIGNING_ENV
from devstack.fake_stripe_fixtures import FakeStripeAccount

NO_VAULT = "http://127.0.0.1:9"  # in-process tests run no vault: calls to it fail at once (503)


@pytest.fixture
def hold_s() -> float:
    return 600


@pytest.fixture
def stripe_settings(fake_stripe: FakeStripeAccount) -> dict[str, str]:
    """checkout's Stripe settings for this test: the fake Stripe, under a key of this test's own
    (its own customers, charges and faults), signing webhooks with the shared secret when the
    environment names one, else with a secret of this test's own."""
    return {
        "stripe_secret_key": fake_stripe.api_key,
        "stripe_api_base": fake_stripe.url,
        "stripe_webhook_secret": os.environ.get(FAKE_STRIPE_SIGNING_ENV) or f"whsec_{secrets.token_hex(16)}",
    }


@pytest.fixture
def checkout_settings(
    service_settings: dict[str, str], stripe_settings: dict[str, str], hold_s: float
) -> Settings:
    return Settings(
        **service_settings,
        **stripe_settings,
        service_signing_key=generate_signing_key()[0],
        vault_url=NO_VAULT,
        rules_wait_s=20,
        hold_s=hold_s,
        sweep_interval_s=0.2,
        orphan_grace_s=0.5,
    )


@pytest.fixture
async def shop_events(checkout_settings: Settings) -> None:
    """The rules, two tweets and both merchants' terms, on the topics before the app starts."""
    await publish(
        checkout_settings.kafka_bootstrap_servers,
        checkout_settings.topic_prefix,
        rules(),
        posted(stock_m=5),
        posted(GALOSH_TWEET, GALOSH),
        terms(),
        terms(GALOSH),
    )


@pytest.fixture
def client(checkout_settings: Settings, shop_events: None, mongo_client: Any) -> Iterator[TestClient]:
    with TestClient(create_app(checkout_settings)) as test_client:
        wait_for_view(mongo_client, checkout_settings.database_name)
        yield test_client
    mongo_client.drop_database(checkout_settings.database_name)
