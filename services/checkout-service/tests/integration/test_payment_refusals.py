"""What the payment endpoints refuse, with nothing changed: confirmations that are incomplete,
mixed, card-bearing or for another buyer's order; refunds by callers who may not; Stripe
webhooks that are forged, altered, stale or unsigned. The checkout app runs in process on the
real broker and database; no vault runs, so nothing here may need one."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from checkout_support import AUD, RAINCOAT_TWEET, bearer, buyer, tap
from fastapi.testclient import TestClient
from stripe import WebhookSignature

from buybutton.auth import TokenIssuer
from checkout_service.config import Settings

CARD = "4242 4242 4242 4242"
CARD_DIGITS = "4242424242424242"
RAINCOAT_M = {"tweet_id": RAINCOAT_TWEET, "variant_id": "raincoat-m", "quantity": 1}
ADDRESS = {"recipient": "Ada", "line1": "1 Row", "city": "Boston", "postal_code": "02118", "country": "US"}


def held_order(client: TestClient, issuer: TokenIssuer, buyer_id: str = "buyer-ada") -> str:
    placed = client.post("/v1/orders", json=RAINCOAT_M, headers=tap(f"k-{buyer_id}", buyer(issuer, buyer_id)))
    assert placed.status_code == 201, placed.text
    return str(placed.json()["order_id"])


def state_of(mongo_client: Any, settings: Settings, order_id: str) -> str:
    order = mongo_client[settings.database_name].orders.find_one({"_id": order_id})
    return str(order["state"])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"use_saved": False},
        {"shipping_address": ADDRESS},
        {"payment_method": "pm_card_visa"},
        {"use_saved": True, "payment_method": "pm_card_visa"},
        {"use_saved": True, "remember": True},
        {"shipping_address": ADDRESS, "payment_method": "card_4242"},
        {"shipping_address": ADDRESS, "payment_method": "pm_card_visa", "amount": 1},
        {"shipping_address": {**ADDRESS, "country": "usa"}, "payment_method": "pm_card_visa"},
        {"shipping_address": ADDRESS, "payment_method": "pm_card_visa", "card": {"number": CARD}},
        {"shipping_address": {**ADDRESS, "line1": CARD}, "payment_method": "pm_card_visa"},
    ],
)
def test_bad_confirmations_are_422_and_change_nothing(
    client: TestClient,
    issuer: TokenIssuer,
    checkout_settings: Settings,
    mongo_client: Any,
    body: dict[str, Any],
) -> None:
    order_id = held_order(client, issuer)
    answer = client.post(f"/v1/orders/{order_id}/confirm", json=body, headers=buyer(issuer))
    assert answer.status_code == 422, answer.text
    assert "4242" not in answer.text
    assert state_of(mongo_client, checkout_settings, order_id) == "held"


def test_another_buyers_order_cannot_be_confirmed_or_followed(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    order_id = held_order(client, issuer)
    bo = buyer(issuer, "buyer-bo")
    confirm = {"shipping_address": ADDRESS, "payment_method": "pm_card_visa"}
    assert client.post(f"/v1/orders/{order_id}/confirm", json=confirm, headers=bo).status_code == 404
    assert client.get(f"/v1/orders/{order_id}/events", headers=bo).status_code == 404
    assert client.post(f"/v1/orders/{CARD_DIGITS}/confirm", json=confirm, headers=bo).status_code == 422
    assert state_of(mongo_client, checkout_settings, order_id) == "held"


def test_a_vault_away_answers_503_with_retry_after_and_changes_nothing(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    order_id = held_order(client, issuer)
    confirm = {"shipping_address": ADDRESS, "payment_method": "pm_card_visa", "remember": True}
    answer = client.post(f"/v1/orders/{order_id}/confirm", json=confirm, headers=buyer(issuer))
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert state_of(mongo_client, checkout_settings, order_id) == "held"


def test_refunds_only_by_an_admin_with_the_scope_or_the_orders_merchant(
    client: TestClient, issuer: TokenIssuer
) -> None:
    order_id = held_order(client, issuer)
    body = {"reason": "damaged"}

    def refund(token: str | None) -> int:
        headers = {"Idempotency-Key": "r1", **(bearer(token) if token else {})}
        return int(client.post(f"/v1/orders/{order_id}/refunds", json=body, headers=headers).status_code)

    assert refund(None) == 401
    assert refund(issuer.mint("buyer", "buyer-ada", audience=AUD, country="US")) == 403
    assert refund(issuer.mint("admin", "admin-grace", audience=AUD)) == 403  # no refunds:write
    assert refund(issuer.mint("merchant", "merchant-galosh-gmbh", audience=AUD)) == 404  # not its order
    assert refund(issuer.mint("service", "merchant-relay", audience=AUD)) == 403
    # the order's merchant and a scoped admin get through, to the order's state: not paid yet
    assert refund(issuer.mint("merchant", "merchant-puddle-and-co", audience=AUD)) == 409
    assert refund(issuer.mint("admin", "admin-grace", audience=AUD, scopes=["refunds:write"])) == 409


def signed(payload: bytes, secret: str, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    signature = WebhookSignature._compute_signature(f"{timestamp}.{payload.decode()}", secret)
    return f"t={timestamp},v1={signature}"


def test_forged_altered_stale_or_unsigned_webhooks_are_refused(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    order_id = held_order(client, issuer)
    secret = checkout_settings.stripe_webhook_secret.get_secret_value()
    event = {
        "id": "evt_forged",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_x", "object": "payment_intent", "metadata": {"order_id": order_id}}},
    }
    payload = json.dumps(event).encode()
    altered = payload.replace(b"evt_forged", b"evt_altered")
    attempts = {
        "unsigned": (payload, None),
        "forged": (payload, signed(payload, "whsec_not_ours")),
        "altered": (altered, signed(payload, secret)),
        "stale": (payload, signed(payload, secret, at=int(time.time()) - 600)),
    }
    answers = {}
    for name, (body, signature) in attempts.items():
        headers = {
            "Content-Type": "application/json",
            **({"Stripe-Signature": signature} if signature else {}),
        }
        answers[name] = client.post("/v1/stripe/webhook", content=body, headers=headers).status_code
    fresh = client.post(
        "/v1/stripe/webhook", content=payload, headers={"Stripe-Signature": signed(payload, secret)}
    )
    print(f"webhooks refused: {answers}; a good one: {fresh.status_code}")
    assert answers == {name: 400 for name in attempts}
    assert fresh.status_code == 200  # verified: a nudge only, the held order is not in payment
    assert state_of(mongo_client, checkout_settings, order_id) == "held"
