"""The merchant's payload carries what shipping and accounting need and nothing else: no card
data, no Stripe customer, payment-method or PaymentIntent id, no platform buyer id; every model
refuses unknown fields; the webhook-id is stable per (order, kind) and card-free."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from buybutton.events import BuyClicked, PaymentCaptured
from buybutton.money import Money
from buybutton.sensitive import looks_like_card_number
from buybutton.unit_of_work import InMemoryAggregateStore
from merchant_relay import relay_orders
from merchant_relay.deliveries import webhook_id
from merchant_relay.payload import MerchantMessage, MerchantOrder, message_for

ALLOWED_ORDER_FIELDS = {
    "order_id",
    "merchant_id",
    "line_items",
    "amount",
    "platform_fee",
    "fee_bps",
    "payout",
    "paid_at",
    "shipping_address",
    "contact_email",
    "refunded",
    "cancel_reason",
}
FORBIDDEN = ("payment", "stripe", "customer", "card", "intent", "buyer", "pm_", "pi_", "cus_")
ORDER = "order-raincoat-7"
ADDRESS = {
    "recipient": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "Boston",
    "region": "MA",
    "postal_code": "02118",
    "country": "US",
}


def names_in(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                found |= set(value)
            found |= names_in(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= names_in(item)
    return found


def paid_relay_order() -> dict[str, Any]:
    store = InMemoryAggregateStore()
    price = Money(amount_minor=9_998, currency="USD")
    store.apply(
        ORDER,
        relay_orders.clicked(
            BuyClicked(
                order_id=ORDER,
                tweet_id="tweet-puddle-raincoat",
                merchant_id="merchant-puddle-and-co",
                buyer_id="buyer-ada",
                product_id="product-raincoat",
                variant_id="raincoat-m",
                quantity=2,
                amount=price,
                hold_expires_at=datetime(2026, 12, 1, 9, 10, tzinfo=UTC),
                correlation_id=ORDER,
                producer="checkout-service",
            )
        ),
    )
    captured = PaymentCaptured(
        order_id=ORDER,
        merchant_id="merchant-puddle-and-co",
        buyer_id="buyer-ada",
        amount=price,
        platform_fee=Money(amount_minor=500, currency="USD"),
        fee_bps=500,
        payment_reference="pi_3PuddleSecretIntent",
        correlation_id=ORDER,
        producer="checkout-service",
    )
    store.apply(ORDER, relay_orders.paid(captured))
    state = store.load(ORDER).state
    assert state is not None
    return dict(state)


def test_the_schema_names_only_the_allowed_fields() -> None:
    properties = MerchantMessage.model_json_schema()["$defs"]["OrderData"]["properties"]
    assert set(properties) == ALLOWED_ORDER_FIELDS
    every_name = names_in(MerchantMessage.model_json_schema())
    print(f"field names in the payload schema: {sorted(every_name)}")
    assert not [n for n in every_name if any(word in n.lower() for word in FORBIDDEN)]


def test_a_paid_order_becomes_the_merchants_copy_without_stripe_ids() -> None:
    relay_order = paid_relay_order()
    assert "line_items" not in relay_order  # kept only until paid
    body = message_for(
        "order.paid", relay_order, {"shipping_address": ADDRESS, "contact_email": None}, now=datetime.now(UTC)
    )
    text = body.model_dump_json()
    assert "pi_3PuddleSecretIntent" not in text and "buyer-ada" not in text
    data = json.loads(text)["data"]
    assert data["line_items"] == [
        {
            "tweet_id": "tweet-puddle-raincoat",
            "product_id": "product-raincoat",
            "variant_id": "raincoat-m",
            "quantity": 2,
            "unit_price": {"amount_minor": 4_999, "currency": "USD"},
        }
    ]
    assert data["payout"] == {"amount_minor": 9_498, "currency": "USD"}
    assert data["shipping_address"]["recipient"] == "Ada Lovelace"


def test_after_erasure_the_message_has_no_personal_data() -> None:
    message = message_for("order.paid", paid_relay_order(), None, now=datetime.now(UTC))
    assert message.data.shipping_address is None and message.data.contact_email is None


def test_unknown_fields_are_refused() -> None:
    copy = paid_relay_order()["order"]
    with pytest.raises(ValidationError, match="payment_reference"):
        MerchantOrder.model_validate({**copy, "payment_reference": "pi_3PuddleSecretIntent"})


def test_webhook_ids_are_stable_distinct_and_card_free() -> None:
    ids = {webhook_id(f"order-{n}", kind) for n in range(2_000) for kind in ("order.paid", "order.refunded")}
    assert len(ids) == 4_000
    assert webhook_id(ORDER, "order.paid") == webhook_id(ORDER, "order.paid")
    assert webhook_id(ORDER, "order.refunded", 2) != webhook_id(ORDER, "order.refunded")
    assert all(i.startswith("msg_") and not looks_like_card_number(i) for i in ids)
