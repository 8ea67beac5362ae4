"""checkout following merchant-relay's stream against the real broker and database: a paid
order receives OrderForwarded, OrderShipped (twice: a redelivery) and, for another order,
OrderFulfilled on this test's relay topic; the buyer's order shows shipped with the tracking
number and fulfilled with the download link; the live stream asked to follow delivery ends at
shipped; a report from another merchant changes nothing."""

from __future__ import annotations

import time
from typing import Any

from checkout_support import PUDDLE, RAINCOAT_TWEET, buyer, publish, tap
from fastapi.testclient import TestClient

from buybutton.auth import TokenIssuer
from buybutton.events import OrderForwarded, OrderFulfilled, OrderShipped
from checkout_service.config import Settings

LINK = "https://files.puddle.example/d/raincoat-care.pdf"


def paid(client: TestClient, db: Any, headers: dict[str, str], key: str) -> str:
    """An order tapped, then marked paid where the payment worker would (no Stripe needed)."""
    body = {"tweet_id": RAINCOAT_TWEET, "variant_id": "raincoat-m", "quantity": 1}
    order_id = str(client.post("/v1/orders", json=body, headers=tap(key, headers)).json()["order_id"])
    db.orders.update_one({"_id": order_id}, {"$set": {"state": "paid"}})
    return order_id


def common(order_id: str, merchant_id: str = PUDDLE) -> dict[str, str]:
    return {
        "order_id": order_id,
        "correlation_id": order_id,
        "producer": "merchant-relay",
        "merchant_id": merchant_id,
    }


def wait_for_state(client: TestClient, path: str, headers: dict[str, str], state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        order: dict[str, Any] = client.get(path, headers=headers).json()
        if order["state"] == state:
            return order
        assert time.monotonic() < deadline, f"the order stayed {order['state']}, never {state}"
        time.sleep(0.2)


async def test_the_buyer_sees_the_merchants_reports(
    client: TestClient, issuer: TokenIssuer, checkout_settings: Settings, mongo_client: Any
) -> None:
    db = mongo_client[checkout_settings.database_name]
    ada = buyer(issuer)
    coat, pattern = paid(client, db, ada, "coat"), paid(client, db, ada, "pattern")
    shipped = OrderShipped(**common(coat), carrier="UPS", tracking_number="1Z999AA10123456784")
    events = [
        OrderShipped(**common(coat, "merchant-galosh-gmbh"), carrier="DHL", tracking_number="JD0000"),
        OrderForwarded(**common(coat), channels=["webhook", "topic"]),
        shipped,
        shipped,  # redelivered
        OrderForwarded(**common(pattern), channels=["webhook"]),
        OrderFulfilled(**common(pattern), delivery_reference="dl_4c1e", download_link=LINK),
    ]
    await publish(checkout_settings.kafka_bootstrap_servers, checkout_settings.topic_prefix, *events)
    coat_view = wait_for_state(client, f"/v1/orders/{coat}", ada, "shipped")
    assert coat_view["shipment"] == {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
    pattern_view = wait_for_state(client, f"/v1/orders/{pattern}", ada, "fulfilled")
    assert pattern_view["fulfilment"] == {"delivery_reference": "dl_4c1e", "download_link": LINK}
    assert pattern_view["shipment"] is None
    with client.stream(
        "GET", f"/v1/orders/{coat}/events", params={"until": "delivered"}, headers=ada
    ) as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data:")]
    print(
        f"\n[relay reports] {len(events)} published (1 foreign, 1 redelivered);"
        f" stream sent {len(lines)} state(s)"
    )
    assert len(lines) == 1 and '"shipped"' in lines[0] and "1Z999AA10123456784" in lines[0]
    assert client.get(f"/v1/orders/{coat}/events", params={"until": "never"}, headers=ada).status_code == 422
