"""Abandoned checkouts end on time (CHECKOUT_HOLD_S = 2 s here): the sweeper cancels the held
order with OrderCancelled (hold_expired) on the checkout topic and puts its stock back, so the
next buyer can buy it; a hold whose order was never written (the instance died in between) is
released too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from checkout_support import RAINCOAT_TWEET, buyer, events_on_topic, stock_left, tap
from fastapi.testclient import TestClient

from buybutton.auth import TokenIssuer
from buybutton.events import OrderCancelled
from buybutton.topics import CHECKOUT
from buybutton.unit_of_work import MongoAggregateStore
from checkout_service.config import Settings
from checkout_service.holds import hold, hold_cause
from devstack.testing import wait_for

ALL_FIVE = {"tweet_id": RAINCOAT_TWEET, "variant_id": "raincoat-m", "quantity": 5}


@pytest.fixture
def hold_s() -> float:
    return 2


async def test_an_abandoned_hold_is_released_on_time(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    ada, bo = buyer(issuer, "buyer-ada"), buyer(issuer, "buyer-bo")
    placed = client.post("/v1/orders", json=ALL_FIVE, headers=tap("ada-tap", ada)).json()
    assert client.post("/v1/orders", json=ALL_FIVE, headers=tap("bo-tap", bo)).status_code == 409
    await wait_for(
        lambda: client.get(f"/v1/orders/{placed['order_id']}", headers=ada).json()["state"] == "cancelled",
        timeout_s=30,
        what="the held order is cancelled after its hold expired",
    )
    ended_at = datetime.now(UTC)
    assert ended_at >= datetime.fromisoformat(placed["hold_expires_at"])  # not before its time
    [cancelled] = await events_on_topic(
        checkout_settings.kafka_bootstrap_servers,
        CHECKOUT.named(checkout_settings.topic_prefix),
        OrderCancelled,
    )
    print(f"hold expired at {placed['hold_expires_at']}, order cancelled by {ended_at.isoformat()}")
    assert (cancelled.order_id, cancelled.reason, cancelled.released_quantity) == (
        placed["order_id"],
        "hold_expired",
        5,
    )
    assert stock_left(mongo_client[checkout_settings.database_name]) == 5
    assert client.post("/v1/orders", json=ALL_FIVE, headers=tap("bo-again", bo)).status_code == 201


async def test_a_hold_without_an_order_is_released_after_expiry(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    catalogue = MongoAggregateStore(mongo_client[checkout_settings.database_name].catalogue)
    expires_at = datetime.now(UTC) + timedelta(seconds=2)
    catalogue.apply(
        RAINCOAT_TWEET, hold("ord_orphan", "raincoat-m", 5, expires_at), cause=hold_cause("ord_orphan")
    )
    assert (
        client.post("/v1/orders", json=ALL_FIVE, headers=tap("bo-tap", buyer(issuer, "buyer-bo"))).status_code
        == 409
    )
    await wait_for(
        lambda: stock_left(mongo_client[checkout_settings.database_name]) == 5,
        timeout_s=30,
        what="the orphan hold is released",
    )
    assert datetime.now(UTC) >= expires_at
    assert mongo_client[checkout_settings.database_name].orders.count_documents({}) == 0
