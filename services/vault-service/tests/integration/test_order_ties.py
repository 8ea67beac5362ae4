"""A service reads a buyer's data only for an order of that buyer, as the vault's own view of
checkout's events knows it: payment references (checkout-service, scope payment:read) for an
order that is open (BuyClicked seen, neither paid, failed nor cancelled; an order not seen yet
answers 409 so that checkout asks again), a shipping address (merchant-relay) for an order that
is paid. The view ends the same whatever order the events
arrive in (a dead letter replayed later), and a redelivered event changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database
from vault_support import answer_once, bearer, checkout_event, full_profile, publish, wait_for_orders

from buybutton.auth import TokenIssuer
from buybutton.events import BuyClicked, Event, OrderCancelled, PaymentCaptured, PaymentFailed
from buybutton.unit_of_work import MongoAggregateStore
from vault_service.config import Settings
from vault_service.orders import (
    Standing,
    is_open_for,
    is_paid_by,
    record_order_cancelled,
    record_order_opened,
    record_order_paid,
    record_payment_failed,
    standing_of,
)

AUD = "vault-service"


def service(issuer: TokenIssuer, name: str, scope: str) -> dict[str, str]:
    return bearer(issuer.mint("service", name, audience=AUD, scopes=[scope, "profiles:write"]))


def payment(order_id: str, buyer_id: str = "buyer-ada") -> str:
    return f"/v1/buyers/{buyer_id}/payment?order_id={order_id}"


def test_payment_references_only_for_an_open_order_of_that_buyer(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings, mongo_client: Any
) -> None:
    checkout = service(issuer, "checkout-service", "payment:read")
    relay = service(issuer, "merchant-relay", "shipping:read")
    assert (
        client.put("/v1/buyers/buyer-ada/profile", headers=checkout, json=full_profile()).status_code == 204
    )

    not_seen_yet = client.get(payment("order-ada"), headers=checkout)
    assert not_seen_yet.status_code == 409 and not_seen_yet.json() == {"detail": "order not known yet"}

    publish(
        vault_settings,
        checkout_event(BuyClicked, "order-bob", "buyer-bob"),
        checkout_event(BuyClicked, "order-ada-cancelled"),
        checkout_event(OrderCancelled, "order-ada-cancelled"),
        checkout_event(BuyClicked, "order-ada-declined"),
        checkout_event(PaymentFailed, "order-ada-declined"),
        checkout_event(BuyClicked, "order-ada"),
    )
    opened = answer_once(client, payment("order-ada"), checkout, 200).json()
    assert opened["default_payment_method_id"].startswith("pm_Canary")
    statuses = {"order-bob": "open", "order-ada-cancelled": "cancelled", "order-ada-declined": "failed"}
    wait_for_orders(mongo_client[vault_settings.database_name], statuses)
    answers = {
        "bob's open order, ada's references": client.get(payment("order-bob"), headers=checkout).status_code,
        "ada's cancelled order": client.get(payment("order-ada-cancelled"), headers=checkout).status_code,
        "ada's declined order": client.get(payment("order-ada-declined"), headers=checkout).status_code,
        "ada's open order, shipping": client.get(
            "/v1/buyers/buyer-ada/shipping?order_id=order-ada", headers=relay
        ).status_code,
    }
    print(answers)
    assert answers == dict.fromkeys(answers, 403)

    publish(vault_settings, checkout_event(PaymentCaptured, "order-ada"))
    answer_once(client, "/v1/buyers/buyer-ada/shipping?order_id=order-ada", relay, 200)
    assert client.get(payment("order-ada"), headers=checkout).status_code == 403, "paid: charged once"


def apply(*events: Event, orders: MongoAggregateStore) -> None:
    handlers: dict[type[Event], Any] = {
        BuyClicked: record_order_opened,
        PaymentCaptured: record_order_paid,
        OrderCancelled: record_order_cancelled,
        PaymentFailed: record_payment_failed,
    }

    async def run() -> None:
        for event in events:
            await handlers[type(event)](event, orders=orders)

    asyncio.run(run())


@pytest.mark.parametrize(
    ("arrivals", "status"),
    [
        (["BuyClicked", "PaymentCaptured"], "paid"),
        (["PaymentCaptured", "BuyClicked"], "paid"),
        (["BuyClicked", "OrderCancelled"], "cancelled"),
        (["OrderCancelled", "BuyClicked"], "cancelled"),
        (["BuyClicked", "OrderCancelled", "PaymentCaptured"], "paid"),
        (["PaymentCaptured", "OrderCancelled", "BuyClicked"], "paid"),
        (["BuyClicked"], "open"),
        (["BuyClicked", "PaymentFailed"], "failed"),
        (["PaymentFailed", "BuyClicked"], "failed"),
        (["BuyClicked", "PaymentFailed", "OrderCancelled"], "cancelled"),
        (["OrderCancelled", "PaymentFailed", "BuyClicked"], "cancelled"),
        (["PaymentFailed", "PaymentCaptured", "BuyClicked"], "paid"),
    ],
)
def test_the_view_ends_the_same_in_any_order_of_arrival_and_redelivery_changes_nothing(
    mongo_db: Database[dict[str, Any]], arrivals: list[str], status: str
) -> None:
    orders = MongoAggregateStore(mongo_db["orders"])
    kinds: dict[str, type[Event]] = {
        "BuyClicked": BuyClicked,
        "PaymentCaptured": PaymentCaptured,
        "OrderCancelled": OrderCancelled,
        "PaymentFailed": PaymentFailed,
    }
    events = [checkout_event(kinds[name], "order-ada") for name in arrivals]
    apply(*events, orders=orders)
    first = mongo_db["orders"].find_one({"_id": "order-ada"})
    apply(*events, orders=orders)  # every event again, as after a rebalance
    again = mongo_db["orders"].find_one({"_id": "order-ada"})
    assert first is not None and again == first
    assert first["status"] == status and first["buyer_id"] == "buyer-ada"
    assert is_open_for(mongo_db["orders"], "order-ada", "buyer-ada") == (status == "open")
    assert is_paid_by(mongo_db["orders"], "order-ada", "buyer-ada") == (status == "paid")
    assert not is_open_for(mongo_db["orders"], "order-ada", "buyer-bob")
    assert standing_of(mongo_db["orders"], "order-ada", "buyer-bob") is Standing.OTHER_BUYER
    assert standing_of(mongo_db["orders"], "order-never-seen", "buyer-ada") is Standing.NOT_SEEN
