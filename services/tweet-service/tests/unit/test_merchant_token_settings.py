"""Merchant token settings fail fast: a key that is not an Ed25519 private key or a lifetime no
verifier accepts refuses the start everywhere, a missing key in staging and production too;
in development and test the service starts without one (the endpoint answers 503)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from buybutton.auth import generate_signing_key
from tweet_service.config import Settings

PRIVATE, PUBLIC = generate_signing_key()
BASE = {
    "kafka_bootstrap_servers": "kafka:9092",
    "mongodb_url": "mongodb://db",
    "auth_public_key": PUBLIC,
}


def settings(**changes: Any) -> Settings:
    return Settings(**{"environment": "test", **BASE, **changes})


def test_defaults_ten_minutes_for_the_merchant_apis() -> None:
    signed = settings(merchant_token_signing_key=PRIVATE)
    assert signed.merchant_token_ttl_s == 600
    assert signed.merchant_token_audiences == ["checkout-service", "merchant-relay"]
    assert signed.merchant_token_signing_key is not None
    assert PRIVATE not in repr(signed), "the key is a secret: never in a repr or a log line"


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_start_without_a_key(environment: str) -> None:
    assert settings(environment=environment).merchant_token_signing_key is None
    assert settings(environment=environment, merchant_token_signing_key="").merchant_token_signing_key is None


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_staging_and_production_refuse_to_start_without_a_key(environment: str) -> None:
    with pytest.raises(
        ValidationError, match=f"TWEET_MERCHANT_TOKEN_SIGNING_KEY is required in {environment}"
    ):
        settings(environment=environment)
    assert settings(environment=environment, merchant_token_signing_key=PRIVATE).environment == environment


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"merchant_token_signing_key": PUBLIC}, "Ed25519 private key"),
        ({"merchant_token_signing_key": "hunter2"}, "Ed25519 private key"),
        ({"merchant_token_ttl_s": 3_600, "auth_max_token_lifetime_s": 1_800}, "longer than AUTH_MAX"),
        ({"merchant_token_ttl_s": 10}, "greater than or equal to 60"),
        ({"merchant_token_audiences": []}, "at least 1 item"),
        ({"merchant_token_audiences": ["checkout service"]}, "a service name"),
    ],
    ids=["a public key", "not a key", "beyond the lifetime cap", "too short", "no audience", "bad audience"],
)
def test_bad_merchant_token_settings_refuse_the_start(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        settings(**{"merchant_token_signing_key": PRIVATE, **changes})
