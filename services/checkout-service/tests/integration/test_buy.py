"""Tap Buy against the real broker and database: the server's price and fee, one order per
Idempotency-Key (taps repeated 2, 5 and 20 times, one after another and at once), one
BuyClicked on the checkout topic, the buyer's own order and list, buyer cancel, and the view
following restocks and price changes from the tweets topic (a redelivery counted once, an
older event ignored)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from checkout_support import (
    RAINCOAT_TWEET,
    buyer,
    events_on_topic,
    price_changed,
    publish,
    restocked,
    stock_left,
    tap,
)
from fastapi.testclient import TestClient

from buybutton.auth import TokenIssuer
from buybutton.events import BuyClicked, OrderCancelled
from buybutton.topics import CHECKOUT
from checkout_service.config import Settings
from devstack.testing import wait_for

RAINCOAT_M = {"tweet_id": RAINCOAT_TWEET, "variant_id": "raincoat-m", "quantity": 2}


async def clicks(settings: Settings, at_least: int) -> list[BuyClicked]:
    topic = CHECKOUT.named(settings.topic_prefix)
    return await events_on_topic(settings.kafka_bootstrap_servers, topic, BuyClicked, at_least=at_least)


async def test_a_buy_is_priced_by_the_server_and_shown_to_its_buyer(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    ada = buyer(issuer)
    answer = client.post("/v1/orders", json=RAINCOAT_M, headers=tap("ada-first-tap", ada))
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["amount"] == {"amount_minor": 9_998, "currency": "USD"}
    assert order["state"] == "held" and "platform_fee" not in order and "fee_bps" not in order
    assert order.pop("saved_profile") is None  # the Buy answer's one-tap offer: nothing saved here
    assert client.get(f"/v1/orders/{order['order_id']}", headers=ada).json() == order
    listed = client.get("/v1/orders", headers=ada).json()
    assert [o["order_id"] for o in listed["orders"]] == [order["order_id"]]
    stored = mongo_client[checkout_settings.database_name].orders.find_one({"_id": order["order_id"]})
    assert stored["platform_fee"] == {"amount_minor": 500, "currency": "USD"}  # 5 % of 99.98
    assert "ada-first-tap" not in str(stored)  # only a hash of the key is kept
    [clicked] = await clicks(checkout_settings, 1)
    assert (clicked.order_id, clicked.amount.amount_minor, clicked.quantity) == (order["order_id"], 9_998, 2)
    assert stock_left(mongo_client[checkout_settings.database_name]) == 3


async def test_the_list_is_newest_first_in_pages(client: TestClient, issuer: TokenIssuer) -> None:
    ada = buyer(issuer)
    ids = [
        client.post("/v1/orders", json={**RAINCOAT_M, "quantity": 1}, headers=tap(f"tap-{n}", ada)).json()[
            "order_id"
        ]
        for n in range(3)
    ]
    first = client.get("/v1/orders", params={"limit": 2}, headers=ada).json()
    second = client.get("/v1/orders", params={"limit": 2, "cursor": first["next_cursor"]}, headers=ada).json()
    assert [o["order_id"] for o in first["orders"] + second["orders"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert client.get("/v1/orders", params={"cursor": "not-a-cursor"}, headers=ada).status_code == 422


@pytest.mark.parametrize("taps", [2, 5, 20])
async def test_a_double_tap_makes_one_order(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any, taps: int
) -> None:
    ada = buyer(issuer)
    sequential = [
        client.post("/v1/orders", json=RAINCOAT_M, headers=tap("seq-key", ada)) for _ in range(taps)
    ]
    with ThreadPoolExecutor(max_workers=taps) as pool:
        concurrent = list(
            pool.map(
                lambda _: client.post("/v1/orders", json=RAINCOAT_M, headers=tap("con-key", ada)), range(taps)
            )
        )
    for answers in (sequential, concurrent):
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * (taps - 1) + [201], codes
        assert len({a.json()["order_id"] for a in answers}) == 1
    orders = mongo_client[checkout_settings.database_name].orders.count_documents({})
    clicked = await clicks(checkout_settings, 2)
    print(
        f"taps per key {taps} x 2 keys (sequential, concurrent): orders {orders}, BuyClicked {len(clicked)}"
    )
    assert orders == 2 and len({c.order_id for c in clicked}) == 2 and len(clicked) == 2
    assert stock_left(mongo_client[checkout_settings.database_name]) == 1
    reused = client.post("/v1/orders", json={**RAINCOAT_M, "quantity": 1}, headers=tap("seq-key", ada))
    assert reused.status_code == 422


async def test_a_buyer_cancel_puts_the_stock_back(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    ada, bo = buyer(issuer, "buyer-ada"), buyer(issuer, "buyer-bo")
    all_five = {**RAINCOAT_M, "quantity": 5}
    order_id = client.post("/v1/orders", json=all_five, headers=tap("ada-tap", ada)).json()["order_id"]
    assert client.post("/v1/orders", json=all_five, headers=tap("bo-tap", bo)).status_code == 409
    for _ in range(2):
        cancelled = client.post(f"/v1/orders/{order_id}/cancel", headers=ada)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert stock_left(mongo_client[checkout_settings.database_name]) == 5
    assert client.post("/v1/orders", json=all_five, headers=tap("bo-again", bo)).status_code == 201
    [event] = await events_on_topic(
        checkout_settings.kafka_bootstrap_servers,
        CHECKOUT.named(checkout_settings.topic_prefix),
        OrderCancelled,
    )
    assert (event.order_id, event.reason, event.released_quantity) == (order_id, "buyer_cancelled", 5)


async def test_restocks_and_price_changes_reach_the_buy(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    db = mongo_client[checkout_settings.database_name]
    restock = restocked(3, sequence=2)
    await publish(
        checkout_settings.kafka_bootstrap_servers,
        checkout_settings.topic_prefix,
        restock,
        restock,  # redelivered: counted once
        price_changed(5_999, sequence=3),
        price_changed(1, sequence=1),  # older than what checkout has: ignored
    )
    await wait_for(
        lambda: db.catalogue.find_one({"_id": RAINCOAT_TWEET})["source_sequence"] == 3,
        what="checkout's catalogue applies the restock and the price change",
    )
    assert stock_left(db) == 8
    answer = client.post(
        "/v1/orders", json={**RAINCOAT_M, "quantity": 1}, headers=tap("after-restock", buyer(issuer))
    )
    assert answer.status_code == 201 and answer.json()["amount"]["amount_minor"] == 5_999
