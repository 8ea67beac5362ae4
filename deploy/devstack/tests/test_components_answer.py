"""The real components do what the services will ask of them: pymongo against the MongoDB
server (unique index, find_one_and_update) and the Stripe SDK against stripe-mock."""

from __future__ import annotations

import pytest
import stripe
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from devstack.endpoints import Endpoints


def test_unique_index_refuses_a_second_document_with_the_same_key(
    mongo_db: Database[dict[str, object]],
) -> None:
    orders = mongo_db["orders"]
    orders.create_index("idempotency_key", unique=True)
    orders.insert_one({"_id": "order-1", "idempotency_key": "buy:order-1"})
    with pytest.raises(DuplicateKeyError):
        orders.insert_one({"_id": "order-2", "idempotency_key": "buy:order-1"})
    assert orders.count_documents({}) == 1


def test_find_one_and_update_decrements_stock_only_while_some_is_left(
    mongo_db: Database[dict[str, object]],
) -> None:
    stock = mongo_db["stock"]
    stock.insert_one({"_id": "raincoat-m", "available": 2})

    def hold_one() -> dict[str, object] | None:
        return stock.find_one_and_update(
            {"_id": "raincoat-m", "available": {"$gte": 1}},
            {"$inc": {"available": -1}},
            return_document=ReturnDocument.AFTER,
        )

    assert [hold_one(), hold_one(), hold_one()] == [
        {"_id": "raincoat-m", "available": 1},
        {"_id": "raincoat-m", "available": 0},
        None,
    ]


def test_stripe_client_talks_to_stripe_mock(endpoints: Endpoints) -> None:
    client = stripe.StripeClient(
        "sk_test_devstack", base_addresses={"api": endpoints.stripe_api_base}, max_network_retries=0
    )
    customer = client.v1.customers.create({"description": "buyer-ada"})
    assert customer.id.startswith("cus_")
    intent = client.v1.payment_intents.create(
        {
            "amount": 4999,
            "currency": "usd",
            "customer": customer.id,
            "confirm": True,
            "payment_method": "pm_card_visa",
        },
        {"idempotency_key": "order-raincoat-0001:capture"},
    )
    assert intent.id.startswith("pi_")
    assert intent.object == "payment_intent"
