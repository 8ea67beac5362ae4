"""Deliveries under a failing merchant endpoint, with a 3-second horizon: an endpoint failing half
the time and then down for longer than the horizon still gets every order, each under one
webhook-id (the receiver's dedupe makes it exactly once); dead letters appear only after the
horizon and ``relay-admin resend`` brings them through. 410 stops a delivery at once;
Retry-After is waited out; after an erasure a delivery carries no personal data."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from relay_support import (
    PUDDLE,
    Receiver,
    VaultCalls,
    endpoint_document,
    paid_order_events,
    publish,
    wait_until,
)
from typer.testing import CliRunner

from devstack.service_process import RunningService
from devstack.testing import read_until
from merchant_relay.admin import app as admin_app
from merchant_relay.config import Settings
from merchant_relay.deliveries import webhook_id

HORIZON_S = 3.0


@pytest.fixture
def relay_overrides() -> dict[str, Any]:
    return {"delivery_horizon_h": HORIZON_S / 3_600}


def states(relay_db: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for delivery in relay_db.deliveries.find({}, {"state": 1}):
        counts[delivery["state"]] = counts.get(delivery["state"], 0) + 1
    return counts


async def paid_orders(
    settings: Settings, vault: VaultCalls, count: int, buyer: str = "buyer-ada"
) -> list[str]:
    orders = [f"order-{buyer}-{n}" for n in range(count)]
    for order_id in orders:
        vault.store_order_address(buyer, order_id)
    events = [e for order_id in orders for e in paid_order_events(order_id, buyer)]
    await publish(settings.kafka_bootstrap_servers, settings.topic_prefix, events)
    return orders


async def test_flaky_then_down_endpoint_gets_every_order_once_after_a_resend(
    relay: TestClient,
    relay_settings: Settings,
    relay_db: Any,
    receiver: Receiver,
    vault_service: tuple[RunningService, VaultCalls],
    mongo_client: Any,
) -> None:
    mode = {"now": "flaky"}
    failures = {"injected": 0}
    lock = threading.Lock()

    def answer(_: str) -> tuple[int, dict[str, str]]:
        with lock:
            if mode["now"] == "up" or (mode["now"] == "flaky" and random.random() < 0.5):
                return 200, {}
            failures["injected"] += 1
            return 500, {}

    receiver.answer = answer
    relay_db.endpoints.insert_one(endpoint_document(PUDDLE, receiver.url, receiver.secret))
    orders = await paid_orders(relay_settings, vault_service[1], 30)

    wait_until(lambda: len(receiver.accepted) >= 10, "some orders through the flaky endpoint")
    mode["now"] = "down"
    wait_until(
        lambda: "pending" not in states(relay_db) and sum(states(relay_db).values()) == 30,
        "all settled",
    )
    settled = states(relay_db)
    dead = list(relay_db.deliveries.find({"state": "dead"}))
    early = [d for d in dead if d["settled_at"] - d["first_attempt_at"] < timedelta(seconds=HORIZON_S)]
    print(
        f"while flaky then down: {settled}, failures injected {failures['injected']}, dead early {len(early)}"
    )
    assert dead and not early

    mode["now"] = "up"
    result = CliRunner().invoke(
        admin_app,
        ["resend", "--merchant", PUDDLE, "--database", relay_settings.database_name],
        env={"MONGODB_URL": relay_settings.mongodb_url},
    )
    assert result.exit_code == 0, result.output
    assert f"re-sent: {len(dead)}" in result.output
    wait_until(lambda: states(relay_db) == {"delivered": 30}, "every delivery through after the resend")

    ids = receiver.ids_per_order()
    duplicates = len(receiver.posts) - failures["injected"] - len(receiver.accepted)
    print(
        f"orders {len(orders)}, posts {len(receiver.posts)}, failures injected {failures['injected']}, "
        f"accepted once {len(receiver.accepted)}, repeats dropped {duplicates}, "
        f"dead before resend {len(dead)}, "
        f"resend output: {result.output.strip()!r}"
    )
    assert sorted(receiver.accepted) == sorted(webhook_id(o, "order.paid") for o in orders)
    assert all(ids[o] == {webhook_id(o, "order.paid")} for o in orders)  # one id per order, ever
    assert receiver.unverified == 0


async def test_410_stops_the_delivery_at_once(
    relay: TestClient,
    relay_settings: Settings,
    relay_db: Any,
    receiver: Receiver,
    vault_service: tuple[RunningService, VaultCalls],
) -> None:
    receiver.answer = lambda _: (410, {})
    relay_db.endpoints.insert_one(endpoint_document(PUDDLE, receiver.url, receiver.secret))
    [order_id] = await paid_orders(relay_settings, vault_service[1], 1)
    wait_until(lambda: states(relay_db) == {"gone": 1}, "the delivery is gone")
    delivery = relay_db.deliveries.find_one({"_id": webhook_id(order_id, "order.paid")})
    print(
        f"posts {len(receiver.posts)}, attempts {delivery['attempts']}, last status {delivery['last_status']}"
    )
    # one POST, then gone, a final state no lane claims again (earlier attempts may have met a
    # vault that had not yet seen the payment: they never reached the endpoint)
    assert len(receiver.posts) == 1 and delivery["last_status"] == "410"
    assert delivery["channels"] == ["topic"]  # the merchant still has it on its topic


async def test_retry_after_is_waited_out(
    relay: TestClient,
    relay_settings: Settings,
    relay_db: Any,
    receiver: Receiver,
    vault_service: tuple[RunningService, VaultCalls],
) -> None:
    receiver.answer = lambda _: (429, {"Retry-After": "2"}) if not receiver.posts else (200, {})
    relay_db.endpoints.insert_one(endpoint_document(PUDDLE, receiver.url, receiver.secret))
    await paid_orders(relay_settings, vault_service[1], 1)
    wait_until(lambda: len(receiver.accepted) == 1, "delivered after the wait")
    first, second = receiver.posts[0], receiver.posts[1]
    gap = second.at - first.at
    print(f"posts {len(receiver.posts)}, gap between the 429 and the retry {gap:.2f} s (backoff base 0.1 s)")
    assert len(receiver.posts) == 2 and gap >= 1.9


async def test_after_erasure_the_delivery_carries_no_personal_data(
    relay: TestClient,
    relay_settings: Settings,
    relay_db: Any,
    receiver: Receiver,
    vault_service: tuple[RunningService, VaultCalls],
    merchant_topic_cleanup: str,
) -> None:
    vault = vault_service[1]
    relay_db.endpoints.insert_one(endpoint_document(PUDDLE, receiver.url, receiver.secret))
    vault.consent_to_share_email("buyer-grace", "grace@example.com")
    order_id = "order-buyer-grace-0"
    vault.store_order_address("buyer-grace", order_id)
    vault.erase("buyer-grace")  # before the relay can have read it: its delivery comes after
    events = paid_order_events(order_id, "buyer-grace")
    await publish(relay_settings.kafka_bootstrap_servers, relay_settings.topic_prefix, events)
    wait_until(lambda: len(receiver.accepted) == 1, "the webhook arrives")
    [received] = receiver.accepted.values()
    assert received.payload["data"]["order_id"] == order_id
    records = await read_until(
        relay_settings.kafka_bootstrap_servers, merchant_topic_cleanup, lambda r: len(r) >= 1
    )
    every = str(received.payload) + b"".join(r.value for r in records).decode()
    data = received.payload["data"]
    print(f"shipping_address {data['shipping_address']}, contact {data['contact_email']}")
    assert (
        received.payload["data"]["shipping_address"] is None
        and received.payload["data"]["contact_email"] is None
    )
    assert "Analytical" not in every and "grace@example.com" not in every
