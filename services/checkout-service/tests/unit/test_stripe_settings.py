"""checkout's Stripe settings fail fast: test keys outside production, a live key and Stripe
itself in production, a webhook signing secret, and an empty API base meaning Stripe itself."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from checkout_service.config import Settings


def _settings(environment: str = "test", **stripe: Any) -> Settings:
    values = {
        "stripe_secret_key": "sk_test_puddle",
        "stripe_webhook_secret": "whsec_puddle",
        **stripe,
    }
    return Settings(
        environment=environment,
        kafka_bootstrap_servers="127.0.0.1:1",
        mongodb_url="mongodb://127.0.0.1:1/",
        auth_public_key="unused",
        service_signing_key="unused by the Stripe settings",
        **values,
    )


def test_defaults_and_an_empty_api_base_mean_stripe_itself() -> None:
    settings = _settings(stripe_api_base="  ")
    assert settings.stripe_api_base is None
    assert (
        settings.stripe_timeout_s,
        settings.stripe_rate_limit_waits,
        settings.stripe_retry_after_cap_s,
    ) == (
        10.0,
        3,
        5.0,
    )
    assert "sk_test_puddle" not in repr(settings)


def test_the_secrets_are_read_from_checkout_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKOUT_STRIPE_SECRET_KEY", "rk_test_restricted")
    monkeypatch.setenv("CHECKOUT_STRIPE_WEBHOOK_SECRET", "whsec_from_env")
    monkeypatch.setenv("CHECKOUT_STRIPE_API_BASE", "http://127.0.0.1:12113")
    monkeypatch.setenv("CHECKOUT_SERVICE_SIGNING_KEY", "read from the environment too")
    settings = Settings(
        environment="test", kafka_bootstrap_servers="k:1", mongodb_url="mongodb://m:1/", auth_public_key="x"
    )
    assert settings.stripe_secret_key.get_secret_value() == "rk_test_restricted"
    assert settings.stripe_webhook_secret.get_secret_value() == "whsec_from_env"
    assert settings.stripe_api_base == "http://127.0.0.1:12113"


@pytest.mark.parametrize(
    ("environment", "stripe"),
    [
        ("test", {"stripe_secret_key": "sk_live_money"}),
        ("development", {"stripe_secret_key": "pk_test_publishable"}),
        ("test", {"stripe_secret_key": "sk_test_"}),
        ("production", {"stripe_secret_key": "sk_test_toy"}),
        ("production", {"stripe_secret_key": "sk_live_money", "stripe_api_base": "http://127.0.0.1:12113"}),
        ("test", {"stripe_webhook_secret": "not-a-signing-secret"}),
        ("test", {"stripe_rate_limit_waits": -1}),
    ],
)
def test_a_mismatched_or_malformed_stripe_setting_is_refused_at_start(
    environment: str, stripe: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        _settings(environment, **stripe)


def test_production_takes_a_live_key_and_stripe_itself() -> None:
    assert _settings("production", stripe_secret_key="sk_live_money").stripe_api_base is None
