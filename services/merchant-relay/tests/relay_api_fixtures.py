"""Fixtures for the merchant API's tests: a FastAPI app of the shared service skeleton with
only the merchant routers, on this test's own MongoDB database, verifying merchant tokens of a
test tweet-service (``merchant_issuer``) and tokens of the test identity (buyers, admins). The
API's settings are the real ones (``merchant_relay.config.Settings``); ``environment`` test,
so the public endpoint rules hold unless a test asks for ``local``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from relay_api_support import resolve_test_hosts

from buybutton.auth import TokenIssuer
from buybutton.service import service_app
from devstack.endpoints import Endpoints
from devstack.identity import TrustedSigner
from merchant_relay import merchant_orders
from merchant_relay.config import Settings
from merchant_relay.merchant_api import MerchantApi
from merchant_relay.routes import ROUTERS


@pytest.fixture
def tweet_signer(trusted_signer: Callable[..., TrustedSigner]) -> TrustedSigner:
    return trusted_signer("tweet-service", kinds=["merchant"])


@pytest.fixture
def merchant_issuer(tweet_signer: TrustedSigner) -> TokenIssuer:
    return tweet_signer.issuer


@pytest.fixture
def api_settings(
    endpoints: Endpoints, mongo_db: Any, signing_key: tuple[str, str], tweet_signer: TrustedSigner
) -> dict[str, Any]:
    return {
        "environment": "test",
        "kafka_bootstrap_servers": endpoints.kafka_bootstrap,
        "mongodb_url": endpoints.mongodb_url,
        "mongodb_database": mongo_db.name,
        "auth_public_key": signing_key[1],
        "auth_trusted_issuers": [tweet_signer.spec],
        "service_signing_key": "unused: the merchant API calls no other service",
    }


def merchant_app(settings: Settings, db: Any) -> FastAPI:
    app = service_app(settings)
    merchant_orders.ensure_indexes(db)
    app.state.merchant_api = MerchantApi.build(db, settings, resolve=resolve_test_hosts)
    for router in ROUTERS:
        app.include_router(router)
    return app


@pytest.fixture
def relay_client(api_settings: dict[str, Any], mongo_db: Any) -> Iterator[TestClient]:
    with TestClient(merchant_app(Settings(**api_settings), mongo_db)) as client:
        yield client
