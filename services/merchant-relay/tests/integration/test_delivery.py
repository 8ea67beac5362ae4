"""A paid order reaches its merchant: once by signed webhook (verified with the standardwebhooks
library, with the address the vault gave for that order and the consented email), once on the
merchant's own topic under the same webhook-id, and OrderForwarded (no personal data) goes out
on the relay's topic. Given a real broker, database and vault; the relay in-process."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from relay_support import (
    ADDRESS,
    PUDDLE,
    STRIPE_INTENT,
    Receiver,
    VaultCalls,
    endpoint_document,
    paid_order_events,
    publish,
    wait_until,
)

from buybutton.events import OrderForwarded
from buybutton.kafka.codec import decode
from buybutton.topics import RELAY
from devstack.service_process import RunningService
from devstack.testing import read_until
from merchant_relay.config import Settings
from merchant_relay.deliveries import webhook_id

ORDER, BUYER = "order-ada-raincoat", "buyer-ada"


async def test_a_paid_order_reaches_the_merchant_by_webhook_and_topic(
    relay: TestClient,
    relay_settings: Settings,
    relay_db: Any,
    receiver: Receiver,
    vault_service: tuple[RunningService, VaultCalls],
    merchant_topic_cleanup: str,
) -> None:
    vault = vault_service[1]
    relay_db.endpoints.insert_one(endpoint_document(PUDDLE, receiver.url, receiver.secret))
    vault.consent_to_share_email(BUYER, "ada@example.com")
    vault.store_order_address(BUYER, ORDER)

    await publish(
        relay_settings.kafka_bootstrap_servers, relay_settings.topic_prefix, paid_order_events(ORDER, BUYER)
    )

    wait_until(lambda: len(receiver.accepted) == 1, "the webhook arrives")
    expected_id = webhook_id(ORDER, "order.paid")
    [(received_id, received)] = receiver.accepted.items()
    assert received_id == expected_id
    data = received.payload["data"]
    assert received.payload["type"] == "order.paid"
    assert data["shipping_address"] == {**ADDRESS, "line2": ""}
    assert data["contact_email"] == "ada@example.com"
    assert data["amount"] == {"amount_minor": 4_999, "currency": "USD"}
    assert data["payout"] == {"amount_minor": 4_749, "currency": "USD"}

    records = await read_until(
        relay_settings.kafka_bootstrap_servers, merchant_topic_cleanup, lambda r: len(r) >= 1
    )
    [record] = records
    assert dict(record.headers)["webhook-id"].decode() == expected_id
    assert record.key == ORDER.encode()
    assert b"Analytical Row" in record.value

    relay_topic = RELAY.named(relay_settings.topic_prefix)
    forwarded = [
        e
        for e in (
            decode(r.value, r.headers)
            for r in await read_until(
                relay_settings.kafka_bootstrap_servers, relay_topic, lambda r: len(r) >= 1
            )
        )
        if isinstance(e, OrderForwarded)
    ]
    assert [(e.order_id, e.channels) for e in forwarded] == [(ORDER, ["topic", "webhook"])]

    every_payload = [p.payload for p in receiver.posts] + [record.value.decode()]
    assert STRIPE_INTENT not in str(every_payload) and BUYER not in str(every_payload)
    assert b"Analytical" not in b"".join(
        r.value
        for r in await read_until(relay_settings.kafka_bootstrap_servers, relay_topic, lambda r: len(r) >= 1)
    )
    delivery = relay_db.deliveries.find_one({"_id": expected_id})
    assert delivery["state"] == "delivered" and delivery["channels"] == ["topic", "webhook"]
    print(
        f"posts {len(receiver.posts)}, accepted {len(receiver.accepted)}, "
        f"unverified {receiver.unverified}, attempts {delivery['attempts']}"
    )
    assert receiver.unverified == 0 and len(receiver.posts) == 1
