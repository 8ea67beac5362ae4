"""The local stack's keys and trust fit together: a merchant token signed with tweet-service's
key verifies at checkout, checkout's service tokens verify at the vault with the scopes checkout
needs, and so do merchant-relay's with shipping:read alone (and merchant tokens verify at the
relay), and nothing beyond that allowance does; the keys are kept across calls, the private ones
readable by their owner only; ``devstack keys`` gives compose the same values."""

from __future__ import annotations

from pathlib import Path

import pytest

from buybutton.auth import InvalidToken, Principal, TokenIssuer, TokenVerifier
from buybutton.service_tokens import ServiceTokens
from buybutton.settings import PlatformSettings
from devstack.config import StackSettings
from devstack.identity import (
    CHECKOUT_VAULT_SCOPES,
    RELAY_VAULT_SCOPES,
    compose_exports,
    ensure_key_pair,
    service_trust,
)

PLATFORM = {"environment": "development", "kafka_bootstrap_servers": "k:9092", "mongodb_url": "mongodb://m"}


def verifier_of(stack: StackSettings, service: str, monkeypatch: pytest.MonkeyPatch) -> TokenVerifier:
    """The verifier ``service`` builds from the environment the stack gives it."""
    monkeypatch.delenv("AUTH_TRUSTED_ISSUERS", raising=False)
    trust = service_trust(stack, service)
    if "AUTH_TRUSTED_ISSUERS" in trust:
        monkeypatch.setenv("AUTH_TRUSTED_ISSUERS", trust["AUTH_TRUSTED_ISSUERS"])
    settings = PlatformSettings(**PLATFORM)
    return TokenVerifier(ensure_key_pair(stack)[1], audience=service, trusted=settings.trusted_issuers)


def test_tweet_service_merchant_tokens_verify_at_checkout_only_as_merchants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = StackSettings(state_dir=tmp_path)
    tweet = TokenIssuer(
        service_trust(stack, "tweet-service")["TWEET_MERCHANT_TOKEN_SIGNING_KEY"], issuer="tweet-service"
    )
    checkout = verifier_of(stack, "checkout-service", monkeypatch)
    merchant = tweet.mint("merchant", "merchant-puddle-and-co", audience="checkout-service")
    assert checkout.verify(merchant) == Principal("merchant", "merchant-puddle-and-co")
    with pytest.raises(InvalidToken, match="may not issue admin"):
        checkout.verify(tweet.mint("admin", "admin-grace", audience="checkout-service"))
    vault = verifier_of(stack, "vault-service", monkeypatch)
    with pytest.raises(InvalidToken, match="no trusted issuer"):
        vault.verify(tweet.mint("merchant", "merchant-puddle-and-co", audience="vault-service"))


def test_checkouts_service_tokens_verify_at_the_vault_within_its_scopes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = StackSettings(state_dir=tmp_path)
    key = service_trust(stack, "checkout-service")["CHECKOUT_SERVICE_SIGNING_KEY"]
    tokens = ServiceTokens(
        key, issuer="checkout-service", audience_scopes={"vault-service": CHECKOUT_VAULT_SCOPES}
    )
    vault = verifier_of(stack, "vault-service", monkeypatch)
    token = tokens.header("vault-service")["Authorization"].removeprefix("Bearer ")
    assert vault.verify(token) == Principal("service", "checkout-service", frozenset(CHECKOUT_VAULT_SCOPES))
    greedy = TokenIssuer(key, issuer="checkout-service").mint(
        "service", "checkout-service", audience="vault-service", scopes=["vault:admin"]
    )
    with pytest.raises(InvalidToken, match="may not grant vault:admin"):
        vault.verify(greedy)


def test_relays_service_tokens_read_shipping_at_the_vault_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = StackSettings(state_dir=tmp_path)
    key = service_trust(stack, "merchant-relay")["RELAY_SERVICE_SIGNING_KEY"]
    tokens = ServiceTokens(
        key, issuer="merchant-relay", audience_scopes={"vault-service": RELAY_VAULT_SCOPES}
    )
    vault = verifier_of(stack, "vault-service", monkeypatch)
    token = tokens.header("vault-service")["Authorization"].removeprefix("Bearer ")
    assert vault.verify(token) == Principal("service", "merchant-relay", frozenset({"shipping:read"}))
    greedy = TokenIssuer(key, issuer="merchant-relay").mint(
        "service", "merchant-relay", audience="vault-service", scopes=["payment:read"]
    )
    with pytest.raises(InvalidToken, match="may not grant payment:read"):
        vault.verify(greedy)
    tweet = TokenIssuer(
        service_trust(stack, "tweet-service")["TWEET_MERCHANT_TOKEN_SIGNING_KEY"], issuer="tweet-service"
    )
    relay = verifier_of(stack, "merchant-relay", monkeypatch)
    merchant = tweet.mint("merchant", "merchant-puddle-and-co", audience="merchant-relay")
    assert relay.verify(merchant) == Principal("merchant", "merchant-puddle-and-co")


def test_keys_are_kept_private_and_compose_gets_the_same(tmp_path: Path) -> None:
    stack = StackSettings(state_dir=tmp_path)
    first = {
        service: service_trust(stack, service)
        for service in ("tweet-service", "checkout-service", "vault-service", "merchant-relay")
    }
    again = {service: service_trust(stack, service) for service in first}
    assert first == again
    assert service_trust(stack, "rollout-service") == {}
    for signer in ("tweet-service", "checkout-service", "merchant-relay"):
        assert (tmp_path / "identity" / signer / "private.pem").stat().st_mode & 0o777 == 0o600
    exports = compose_exports(stack)
    assert (
        exports["TWEET_MERCHANT_TOKEN_SIGNING_KEY"]
        == first["tweet-service"]["TWEET_MERCHANT_TOKEN_SIGNING_KEY"]
    )
    assert exports["CHECKOUT_AUTH_TRUSTED_ISSUERS"] == first["checkout-service"]["AUTH_TRUSTED_ISSUERS"]
    assert exports["VAULT_AUTH_TRUSTED_ISSUERS"] == first["vault-service"]["AUTH_TRUSTED_ISSUERS"]
    assert exports["RELAY_AUTH_TRUSTED_ISSUERS"] == first["merchant-relay"]["AUTH_TRUSTED_ISSUERS"]
    assert exports["RELAY_SERVICE_SIGNING_KEY"] == first["merchant-relay"]["RELAY_SERVICE_SIGNING_KEY"]
    assert exports["AUTH_PUBLIC_KEY"] == ensure_key_pair(stack)[1]
