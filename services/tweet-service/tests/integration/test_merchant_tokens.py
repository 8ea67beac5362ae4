"""A merchant exchanges its own live API key for a short-lived merchant token (kind merchant,
subject the merchant, issuer tweet-service, one allowed audience) that a service trusting
tweet-service for merchant tokens verifies; every other key, merchant, audience or card-shaped
value is refused, and without a signing key the endpoint says which setting is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tweet_support import GALOSH, PUDDLE, admin, api_key, register

from buybutton.auth import InvalidToken, Principal, TokenIssuer, TokenVerifier
from devstack.identity import TrustedSigner
from tweet_service.app import create_app
from tweet_service.config import Settings

TO_CHECKOUT = {"audience": "checkout-service"}


def tokens_path(merchant_id: str = PUDDLE) -> str:
    return f"/v1/merchants/{merchant_id}/tokens"


def checkout_verifier(identity_public: str, signer: TrustedSigner) -> TokenVerifier:
    """What checkout-service builds from AUTH_PUBLIC_KEY and AUTH_TRUSTED_ISSUERS."""
    return TokenVerifier(identity_public, audience="checkout-service", trusted=[signer.spec.trusted()])


def test_a_merchant_exchanges_its_key_for_a_token_checkout_verifies(
    client: TestClient,
    puddle_key: str,
    signing_key: tuple[str, str],
    tweet_signer: TrustedSigner,
    tweet_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    asked_at = datetime.now(UTC).replace(microsecond=0)
    answer = client.post(tokens_path(), headers=api_key(puddle_key), json=TO_CHECKOUT)
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    issued = answer.json()
    assert set(issued) == {"token", "token_type", "expires_at", "audience"}
    assert (issued["token_type"], issued["audience"]) == ("Bearer", "checkout-service")
    lives = datetime.fromisoformat(issued["expires_at"]) - asked_at
    assert timedelta(seconds=tweet_settings.merchant_token_ttl_s) <= lives <= timedelta(seconds=602)
    checkout = checkout_verifier(signing_key[1], tweet_signer)
    assert checkout.verify(issued["token"]) == Principal("merchant", PUDDLE)
    vault = TokenVerifier(signing_key[1], audience="vault-service", trusted=[tweet_signer.spec.trusted()])
    with pytest.raises(InvalidToken, match="InvalidAudienceError"):
        vault.verify(issued["token"])
    by_default = client.post(tokens_path(), headers=api_key(puddle_key), json={})
    assert by_default.status_code == 201 and by_default.json()["audience"] == "checkout-service"
    logged = "".join(capfd.readouterr()) + caplog.text
    assert "merchant token issued" in logged
    assert issued["token"] not in logged and puddle_key not in logged


def test_the_trust_is_for_merchant_tokens_only(
    signing_key: tuple[str, str], tweet_signer: TrustedSigner
) -> None:
    """tweet-service's key, wherever it leaks, mints no admin, buyer or service token checkout takes."""
    checkout = checkout_verifier(signing_key[1], tweet_signer)
    for kind in ("admin", "buyer", "service"):
        forged = tweet_signer.issuer.mint(kind, "admin-grace", audience="checkout-service")
        with pytest.raises(InvalidToken, match=f"may not issue {kind}"):
            checkout.verify(forged)


def test_unknown_revoked_or_other_merchants_keys_get_no_token(
    client: TestClient, issuer: TokenIssuer, puddle_key: str, galosh_key: str
) -> None:
    unknown = client.post(tokens_path(), headers=api_key("bbk_0123456789abcdef.nope"), json=TO_CHECKOUT)
    assert unknown.status_code == 401, unknown.text
    assert client.post(tokens_path(), json=TO_CHECKOUT).status_code == 401
    other = client.post(tokens_path(GALOSH), headers=api_key(puddle_key), json=TO_CHECKOUT)
    assert other.status_code == 403, other.text
    assert client.post(tokens_path(GALOSH), headers=api_key(galosh_key), json=TO_CHECKOUT).status_code == 201
    key_id = galosh_key.removeprefix("bbk_").split(".")[0]
    assert (
        client.delete(f"/v1/merchants/{GALOSH}/api-keys/{key_id}", headers=admin(issuer)).status_code == 204
    )
    revoked = client.post(tokens_path(GALOSH), headers=api_key(galosh_key), json=TO_CHECKOUT)
    assert revoked.status_code == 401, revoked.text


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"audience": "vault-service"}, ["body", "audience"]),
        ({"audience": "rollout-service"}, ["body", "audience"]),
        ({"audience": "4242424242424242"}, ["body"]),
        ({"audience": "checkout-service", "note": "5555 5555 5555 4444"}, ["body"]),
        ({"audience": "checkout-service", "ttl_s": 86400}, ["body", "ttl_s"]),
    ],
    ids=["vault", "rollout", "card-shaped audience", "card data elsewhere", "own lifetime"],
)
def test_other_audiences_and_card_shaped_values_are_refused(
    client: TestClient, puddle_key: str, body: dict[str, Any], where: list[str]
) -> None:
    answer = client.post(tokens_path(), headers=api_key(puddle_key), json=body)
    assert answer.status_code == 422, answer.text
    assert [problem["loc"][: len(where)] for problem in answer.json()["detail"]] == [where]
    for value in body.values():
        if value != "checkout-service":
            assert str(value) not in answer.text, "the answer never repeats what was sent"


def test_a_card_shaped_merchant_id_in_the_path_is_refused(client: TestClient, puddle_key: str) -> None:
    answer = client.post(tokens_path("4242424242424242"), headers=api_key(puddle_key), json=TO_CHECKOUT)
    assert answer.status_code == 422, answer.text
    assert "4242424242424242" not in answer.text


def test_without_a_signing_key_the_endpoint_names_the_missing_setting(
    tweet_settings: Settings, rules_in_force: None, issuer: TokenIssuer, mongo_client: Any
) -> None:
    unsigned = tweet_settings.model_copy(update={"merchant_token_signing_key": None})
    with TestClient(create_app(unsigned)) as client:
        key = register(client, issuer, PUDDLE)
        answer = client.post(tokens_path(), headers=api_key(key), json=TO_CHECKOUT)
    mongo_client.drop_database(unsigned.database_name)
    assert answer.status_code == 503, answer.text
    assert "TWEET_MERCHANT_TOKEN_SIGNING_KEY" in answer.json()["detail"]
