"""Money is integers with a known currency; fees round half-up; settings fail fast, and there is
no default environment."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from buybutton.money import Money, minor_unit_digits
from buybutton.settings import PlatformSettings


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10_000))
def test_fee_is_the_half_up_rounding_of_the_exact_share(amount: int, bps: int) -> None:
    fee = Money(amount_minor=amount, currency="USD").fee(bps).amount_minor
    exact_times_10000 = amount * bps
    assert abs(fee * 10_000 - exact_times_10000) <= 5_000
    if fee * 10_000 - exact_times_10000 == -5_000:
        pytest.fail("an exact half must round up")


def test_fee_examples() -> None:
    assert Money(amount_minor=4_999, currency="USD").fee(250).amount_minor == 125
    assert Money(amount_minor=200, currency="USD").fee(250).amount_minor == 5  # 5.0 exactly
    assert Money(amount_minor=20, currency="USD").fee(250).amount_minor == 1  # 0.5 -> 1


@pytest.mark.parametrize(
    "body",
    [
        {"amount_minor": -1, "currency": "USD"},
        {"amount_minor": 1.5, "currency": "USD"},
        {"amount_minor": 100, "currency": "usd"},
        {"amount_minor": 100, "currency": "XYZ"},
        {"amount_minor": 10**13, "currency": "USD"},
    ],
)
def test_bad_money_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate(body)


def test_minor_units_follow_the_currency() -> None:
    assert [minor_unit_digits(c) for c in ("USD", "JPY", "KWD")] == [2, 0, 3]


def test_settings_fail_fast_without_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("MONGODB_URL", raising=False)
    with pytest.raises(ValidationError, match="KAFKA_BOOTSTRAP_SERVERS"):
        PlatformSettings()


def test_settings_have_no_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("MONGODB_URL", "mongodb://db/")
    with pytest.raises(ValidationError, match="ENVIRONMENT"):
        PlatformSettings()
    monkeypatch.setenv("ENVIRONMENT", "production")
    assert PlatformSettings().environment == "production"


def test_settings_read_platform_wide_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("MONGODB_URL", "mongodb://db/")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("AUTH_MAX_TOKEN_LIFETIME_S", "3600")
    settings = PlatformSettings()
    assert (settings.kafka_bootstrap_servers, settings.topic_prefix) == ("broker:9092", "staging.")
    assert settings.auth_max_token_lifetime_s == 3600
