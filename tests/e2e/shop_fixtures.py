"""The ``shop_setup`` fixture: a shop's configuration from the test's own endpoints, topics,
identity key and fake Stripe account (shop_support.py has the shop itself, free of pytest, so
that benchmarks open the same shop); its databases and the merchant topics the relay created are
dropped afterwards."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shop_support import ShopSetup, delete_merchant_topics, shop_config

from buybutton.auth import TokenIssuer
from devstack.endpoints import Endpoints
from devstack.fake_stripe_fixtures import FakeStripeAccount


@pytest.fixture
def shop_setup(
    endpoints: Endpoints,
    registry_topics: str,
    unique_name: str,
    signing_key: tuple[str, str],
    issuer: TokenIssuer,
    fake_stripe: FakeStripeAccount,
    tmp_path: Path,
    mongo_client: Any,
) -> Iterator[ShopSetup]:
    webhook_secret = "whsec_" + secrets.token_hex(24)
    config = shop_config(
        endpoints_env=endpoints.as_env(),
        prefix=registry_topics,
        unique_name=unique_name,
        identity_public_key=signing_key[1],
        stripe_url=fake_stripe.url,
        stripe_key=fake_stripe.api_key,
        webhook_secret=webhook_secret,
        state_dir=tmp_path,
    )
    try:
        yield ShopSetup(
            config, issuer, fake_stripe.admin, webhook_secret, endpoints.kafka_bootstrap, registry_topics
        )
    finally:
        databases = (
            config.checkout["CHECKOUT_MONGODB_DATABASE"],
            config.vault["VAULT_MONGODB_DATABASE"],
            config.relay["RELAY_MONGODB_DATABASE"],
        )
        for name in databases:
            mongo_client.drop_database(name)
        asyncio.run(delete_merchant_topics(endpoints.kafka_bootstrap, registry_topics))
