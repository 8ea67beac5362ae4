"""What checkout refuses, and that a refused Buy holds nothing: a buyer the gate hides the button
from (outside the rollout percentage, non-US, no country, a seller not allow-listed) → 403;
client fields for price, fee, currency or merchant → 422; card numbers anywhere → 422 never
echoed; another buyer's order → 404; missing or forged tokens → 401; other kinds → 403."""

from __future__ import annotations

from typing import Any

import pytest
from checkout_support import AUD, GALOSH_TWEET, RAINCOAT_TWEET, bearer, buyer, publish, rules, tap
from fastapi.testclient import TestClient

from buybutton.auth import TokenIssuer, generate_signing_key
from checkout_service.config import Settings
from devstack.testing import wait_for

RAINCOAT_M = {"tweet_id": RAINCOAT_TWEET, "variant_id": "raincoat-m", "quantity": 1}
CARD = "4242 4242 4242 4242"
CARD_DIGITS = "4242424242424242"


def nothing_held(mongo_client: Any, settings: Settings) -> bool:
    db = mongo_client[settings.database_name]
    return bool(
        db.orders.count_documents({}) == 0
        and db.catalogue.count_documents({"holds.0": {"$exists": True}}) == 0
    )


@pytest.mark.parametrize("country", ["CA", "GB", None])
def test_a_buyer_outside_the_us_is_refused_and_nothing_is_held(
    client: TestClient,
    issuer: TokenIssuer,
    checkout_settings: Settings,
    mongo_client: Any,
    country: str | None,
) -> None:
    answer = client.post("/v1/orders", json=RAINCOAT_M, headers=tap("k1", buyer(issuer, "buyer-bo", country)))
    assert answer.status_code == 403, answer.text
    assert nothing_held(mongo_client, checkout_settings)


def test_a_seller_not_allow_listed_is_refused(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    boots = {"tweet_id": GALOSH_TWEET, "variant_id": "raincoat-m", "quantity": 1}
    assert client.post("/v1/orders", json=boots, headers=tap("k1", buyer(issuer))).status_code == 403
    assert nothing_held(mongo_client, checkout_settings)


async def test_a_buyer_the_percentage_leaves_out_is_refused(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    await publish(
        checkout_settings.kafka_bootstrap_servers, checkout_settings.topic_prefix, rules(percentage_bps=0)
    )
    replica = client.app.state.rules_replica  # type: ignore[attr-defined]
    await wait_for(lambda: replica.rules("buy-button").percentage_bps == 0, what="the new rules arrive")
    assert client.post("/v1/orders", json=RAINCOAT_M, headers=tap("k1", buyer(issuer))).status_code == 403
    assert nothing_held(mongo_client, checkout_settings)


@pytest.mark.parametrize(
    "tampered",
    [
        {"price": {"amount_minor": 1, "currency": "USD"}},
        {"amount": {"amount_minor": 1, "currency": "USD"}},
        {"unit_price": 1},
        {"fee_bps": 0},
        {"platform_fee": {"amount_minor": 0, "currency": "USD"}},
        {"currency": "JPY"},
        {"merchant_id": "merchant-mallory"},
        {"stripe_account_id": "acct_1Mallory"},
    ],
)
def test_tampered_fields_are_refused_and_nothing_is_held(
    client: TestClient,
    issuer: TokenIssuer,
    checkout_settings: Settings,
    mongo_client: Any,
    tampered: dict[str, Any],
) -> None:
    answer = client.post("/v1/orders", json={**RAINCOAT_M, **tampered}, headers=tap("k1", buyer(issuer)))
    assert answer.status_code == 422, answer.text
    assert nothing_held(mongo_client, checkout_settings)


def test_unknown_tweet_or_variant_is_404_without_echo(client: TestClient, issuer: TokenIssuer) -> None:
    for body in (
        {**RAINCOAT_M, "tweet_id": "tweet-canary-nobody"},
        {**RAINCOAT_M, "variant_id": "canary-xxl"},
    ):
        answer = client.post("/v1/orders", json=body, headers=tap("k1", buyer(issuer)))
        assert answer.status_code == 404 and "canary" not in answer.text
    quantity_11 = client.post(
        "/v1/orders", json={**RAINCOAT_M, "quantity": 11}, headers=tap("k2", buyer(issuer))
    )
    assert quantity_11.status_code == 422
    assert client.post("/v1/orders", json=RAINCOAT_M, headers=buyer(issuer)).status_code == 422  # no key


def test_card_numbers_anywhere_are_refused_never_echoed(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    ada = buyer(issuer)
    answers = [
        client.post("/v1/orders", json={**RAINCOAT_M, "tweet_id": CARD}, headers=tap("k1", ada)),
        client.post("/v1/orders", json={**RAINCOAT_M, "note": CARD}, headers=tap("k1", ada)),
        client.post("/v1/orders", json={**RAINCOAT_M, CARD_DIGITS: "x"}, headers=tap("k1", ada)),
        client.post("/v1/orders", json=RAINCOAT_M, headers=tap(CARD_DIGITS, ada)),
        client.post("/v1/orders", json=RAINCOAT_M, headers=tap(CARD.replace(" ", "-"), ada)),
        client.get(f"/v1/orders/{CARD_DIGITS}", headers=ada),
        client.post(f"/v1/orders/{CARD_DIGITS}/cancel", headers=ada),
        client.get("/v1/orders", params={"cursor": CARD_DIGITS}, headers=ada),
    ]
    print(f"card-bearing requests {len(answers)}: statuses {[a.status_code for a in answers]}")
    assert [a.status_code for a in answers] == [422] * len(answers)
    assert not [a for a in answers if "4242" in a.text]
    assert nothing_held(mongo_client, checkout_settings)


def test_another_buyers_order_is_not_found(client: TestClient, issuer: TokenIssuer) -> None:
    placed = client.post("/v1/orders", json=RAINCOAT_M, headers=tap("k1", buyer(issuer, "buyer-ada")))
    order_id = placed.json()["order_id"]
    bo = buyer(issuer, "buyer-bo")
    assert client.get(f"/v1/orders/{order_id}", headers=bo).status_code == 404
    assert client.post(f"/v1/orders/{order_id}/cancel", headers=bo).status_code == 404
    assert client.get("/v1/orders", headers=bo).json()["orders"] == []
    assert client.get(f"/v1/orders/{order_id}", headers=buyer(issuer, "buyer-ada")).json()["state"] == "held"


def test_callers_without_a_buyer_token_are_refused(client: TestClient, issuer: TokenIssuer) -> None:
    forged = TokenIssuer(generate_signing_key()[0]).mint("buyer", "buyer-ada", audience=AUD, country="US")
    other_audience = issuer.mint("buyer", "buyer-ada", audience="tweet-service", country="US")
    not_buyers = [
        issuer.mint("admin", "admin-grace", audience=AUD, scopes=["merchants:write"]),
        issuer.mint("merchant", "merchant-puddle-and-co", audience=AUD),
        issuer.mint("service", "merchant-relay", audience=AUD),
    ]
    requests = [
        ("POST", "/v1/orders", RAINCOAT_M),
        ("GET", "/v1/orders", None),
        ("GET", "/v1/orders/ord_x", None),
        ("POST", "/v1/orders/ord_x/cancel", None),
    ]
    for method, path, body in requests:

        def call(headers: dict[str, str], method: str = method, path: str = path, body: Any = body) -> int:
            answer = client.request(method, path, json=body, headers={**headers, "Idempotency-Key": "k1"})
            return int(answer.status_code)

        assert call({}) == 401
        assert call(bearer(forged)) == 401
        assert call(bearer(other_audience)) == 401
        assert [call(bearer(token)) for token in not_buyers] == [403, 403, 403]
