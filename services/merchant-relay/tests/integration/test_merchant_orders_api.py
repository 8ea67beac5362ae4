"""The merchant's orders over HTTP against the real database: own orders only, newest first in
pages with each webhook's delivery state; acknowledgement; shipment and fulfilment reports as
units of work emitting OrderShipped / OrderFulfilled into the order's outbox once (a retry
emits nothing new), forward only (no other tracking number, no shipping a fulfilled or a
refunded order); card data anywhere answers 422; merchant A cannot read or report B's order."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from relay_api_support import GALOSH, PUDDLE, delivery, merchant, relay_order

from buybutton.auth import TokenIssuer

ORDERS = f"/v1/merchants/{PUDDLE}/orders"
SHIPMENT = {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
CARD = "4242 4242 4242 4242"


@pytest.fixture
def shop(mongo_db: Any) -> Any:
    """Three Puddle orders (paid a minute apart) and one of Galosh, as the pipeline stored them."""
    mongo_db.relay_orders.insert_many(
        [relay_order(f"order-raincoat-{n}", minutes=n) for n in range(3)]
        + [relay_order("order-boots-1", GALOSH), relay_order("order-refunded-1", minutes=9, state="refunded")]
    )
    mongo_db.deliveries.insert_many(
        [delivery("order-raincoat-0"), delivery("order-raincoat-1", state="pending")]
    )
    return mongo_db


def outbox_events(db: Any, order_id: str) -> list[dict[str, Any]]:
    return [entry["event"] for entry in db.relay_orders.find_one({"_id": order_id})["outbox"]]


def test_orders_are_own_newest_first_in_pages_with_their_deliveries(
    relay_client: TestClient, merchant_issuer: TokenIssuer, shop: Any
) -> None:
    puddle = merchant(merchant_issuer)
    first = relay_client.get(ORDERS, params={"limit": 2}, headers=puddle).json()
    second = relay_client.get(
        ORDERS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=puddle
    ).json()
    listed = first["orders"] + second["orders"]
    ids = [o["order_id"] for o in listed]
    assert ids == ["order-refunded-1", "order-raincoat-2", "order-raincoat-1", "order-raincoat-0"]
    third = relay_client.get(
        ORDERS, params={"limit": 2, "cursor": second["next_cursor"]}, headers=puddle
    ).json()
    assert third == {"orders": [], "next_cursor": None}
    by_id = {o["order_id"]: o for o in listed}
    assert [(d["kind"], d["state"]) for d in by_id["order-raincoat-0"]["deliveries"]] == [
        ("order.paid", "delivered")
    ]
    assert by_id["order-raincoat-1"]["deliveries"][0]["state"] == "pending"
    assert by_id["order-raincoat-0"]["order"]["payout"] == {"amount_minor": 9_498, "currency": "USD"}
    assert all("buyer_id" not in o and "outbox" not in o for o in listed)
    one = relay_client.get(f"{ORDERS}/order-raincoat-0", headers=puddle)
    assert one.status_code == 200 and one.json() == by_id["order-raincoat-0"]
    assert relay_client.get(ORDERS, params={"cursor": "not-a-cursor"}, headers=puddle).status_code == 422


def test_a_shipment_emits_order_shipped_once(
    relay_client: TestClient, merchant_issuer: TokenIssuer, shop: Any
) -> None:
    puddle = merchant(merchant_issuer)
    acked = relay_client.post(f"{ORDERS}/order-raincoat-0/ack", headers=puddle)
    assert acked.status_code == 200 and acked.json()["acknowledged_at"] is not None
    again = relay_client.post(f"{ORDERS}/order-raincoat-0/ack", headers=puddle)
    assert again.json()["acknowledged_at"] == acked.json()["acknowledged_at"]
    answers = [
        relay_client.post(f"{ORDERS}/order-raincoat-0/shipment", json=SHIPMENT, headers=puddle)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    shown = answers[-1].json()
    assert shown["state"] == "shipped" and shown["shipment"] == SHIPMENT
    events = outbox_events(shop, "order-raincoat-0")
    assert [e["event_type"] for e in events] == ["OrderShipped"]
    assert (events[0]["carrier"], events[0]["tracking_number"], events[0]["merchant_id"]) == (
        "UPS",
        "1Z999AA10123456784",
        PUDDLE,
    )
    other = relay_client.post(
        f"{ORDERS}/order-raincoat-0/shipment",
        json={**SHIPMENT, "tracking_number": "1Z999AA1"},
        headers=puddle,
    )
    print(
        f"\n[shipment] 3 identical reports -> {len(events)} OrderShipped;"
        f" a different number -> {other.status_code}"
    )
    assert other.status_code == 409 and len(outbox_events(shop, "order-raincoat-0")) == 1


def test_an_order_whose_last_attempt_failed_before_the_webhook_is_shown_and_takes_a_report(
    relay_client: TestClient, merchant_issuer: TokenIssuer, mongo_db: Any
) -> None:
    failures = {"order-raincoat-7": "vault unavailable", "order-raincoat-8": "topic publish failed"}
    mongo_db.relay_orders.insert_many([relay_order(order_id) for order_id in failures])
    mongo_db.deliveries.insert_many(
        [delivery(o, state="pending", last_status=status) for o, status in failures.items()]
    )
    puddle = merchant(merchant_issuer)
    listed = relay_client.get(ORDERS, headers=puddle)
    shipped = relay_client.post(f"{ORDERS}/order-raincoat-7/shipment", json=SHIPMENT, headers=puddle)
    print(f"\n[failed attempts shown] listing {listed.status_code}, shipment {shipped.status_code}")
    assert listed.status_code == 200, listed.text
    shown = {o["order_id"]: o["deliveries"][0]["last_status"] for o in listed.json()["orders"]}
    assert shown == failures
    assert (
        shipped.status_code == 200 and shipped.json()["deliveries"][0]["last_status"] == "vault unavailable"
    )


def test_a_fulfilment_by_download_link_or_licence_key(
    relay_client: TestClient, merchant_issuer: TokenIssuer, shop: Any
) -> None:
    puddle = merchant(merchant_issuer)
    link = {"download_link": "https://files.puddle.example/d/raincoat-pattern.pdf?t=abc"}
    answer = relay_client.post(f"{ORDERS}/order-raincoat-1/fulfilment", json=link, headers=puddle)
    assert answer.status_code == 200, answer.text
    fulfilment = answer.json()["fulfilment"]
    assert fulfilment["download_link"] == link["download_link"] and fulfilment[
        "delivery_reference"
    ].startswith("dl_")
    [event] = outbox_events(shop, "order-raincoat-1")
    assert (event["event_type"], event["download_link"]) == ("OrderFulfilled", link["download_link"])
    assert (
        relay_client.post(f"{ORDERS}/order-raincoat-1/shipment", json=SHIPMENT, headers=puddle).status_code
        == 409
    )
    key = relay_client.post(
        f"{ORDERS}/order-raincoat-2/fulfilment", json={"licence_key": "PUDDLE-RAIN-2026"}, headers=puddle
    )
    assert key.status_code == 200 and key.json()["fulfilment"]["delivery_reference"] == "PUDDLE-RAIN-2026"
    [keyed] = outbox_events(shop, "order-raincoat-2")
    assert keyed["delivery_reference"] == "PUDDLE-RAIN-2026" and keyed["download_link"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"download_link": "http://files.puddle.example/x"},
        {"download_link": "javascript:alert(1)"},
        {"download_link": "https://files.puddle.example/x", "licence_key": "K-1"},
        {},
        {"licence_key": CARD},
        {"licence_key": "K-1", "card_number": "x"},
    ],
)
def test_malformed_fulfilments_are_refused(
    relay_client: TestClient, merchant_issuer: TokenIssuer, shop: Any, body: dict[str, Any]
) -> None:
    answer = relay_client.post(
        f"{ORDERS}/order-raincoat-1/fulfilment", json=body, headers=merchant(merchant_issuer)
    )
    assert answer.status_code == 422 and CARD not in answer.text
    assert outbox_events(shop, "order-raincoat-1") == []


def test_card_data_anywhere_answers_422_and_a_refunded_order_takes_no_report(
    relay_client: TestClient, merchant_issuer: TokenIssuer, shop: Any
) -> None:
    puddle = merchant(merchant_issuer)
    tries = [
        relay_client.post(
            f"{ORDERS}/order-raincoat-0/shipment",
            json={"carrier": "UPS", "tracking_number": CARD},
            headers=puddle,
        ),
        relay_client.post(
            f"{ORDERS}/order-raincoat-0/shipment", json={**SHIPMENT, "note": CARD}, headers=puddle
        ),
        relay_client.get(f"{ORDERS}/4242424242424242", headers=puddle),
        relay_client.get(ORDERS, params={"limit": 2, "q": CARD}, headers=puddle),
    ]
    print(f"\n[card data] {len(tries)} inputs tried, answers {[t.status_code for t in tries]}")
    assert [t.status_code for t in tries] == [422, 422, 422, 422]
    assert all(CARD not in t.text and "4242424242424242" not in t.text for t in tries)
    refused = relay_client.post(f"{ORDERS}/order-refunded-1/shipment", json=SHIPMENT, headers=puddle)
    assert refused.status_code == 409 and outbox_events(shop, "order-refunded-1") == []


def test_a_merchant_cannot_read_or_report_another_merchants_order(
    relay_client: TestClient, merchant_issuer: TokenIssuer, shop: Any
) -> None:
    puddle, galosh = merchant(merchant_issuer), merchant(merchant_issuer, GALOSH)
    theirs = f"{ORDERS}/order-boots-1"
    attempts = {
        "read B's order under A's path": relay_client.get(theirs, headers=puddle).status_code,
        "ship B's order under A's path": relay_client.post(
            f"{theirs}/shipment", json=SHIPMENT, headers=puddle
        ).status_code,
        "ack B's order under A's path": relay_client.post(f"{theirs}/ack", headers=puddle).status_code,
        "list A's orders with B's token": relay_client.get(ORDERS, headers=galosh).status_code,
        "ship A's order with B's token": relay_client.post(
            f"{ORDERS}/order-raincoat-0/shipment", json=SHIPMENT, headers=galosh
        ).status_code,
        "a missing order": relay_client.get(f"{ORDERS}/order-nobody", headers=puddle).status_code,
    }
    print(f"\n[isolation] {attempts}")
    assert list(attempts.values()) == [404, 404, 404, 403, 403, 404]
    galosh_list = relay_client.get(f"/v1/merchants/{GALOSH}/orders", headers=galosh).json()
    assert [o["order_id"] for o in galosh_list["orders"]] == ["order-boots-1"]
    assert all(outbox_events(shop, o) == [] for o in ("order-boots-1", "order-raincoat-0"))
