"""A paid order reaches its merchant, and the merchant's reports reach the buyer, through
vault-service, checkout-service and merchant-relay as processes, the real broker and database
server and the fake Stripe, with examples/merchant_webhook_receiver.py as the merchant's
endpoint (in the test process, on a free port).

Given Puddle & Co. registered its endpoint with a merchant token for the relay, when Ada buys
the raincoat and pays (pm_card_visa), then the receiver handles the order once, verified, with
Ada's shipping address; the order is on Puddle's own topic under the same webhook-id and
OrderForwarded on relay.deliveries.v1. When Puddle reports the shipment, Ada's order at checkout
is shipped with the carrier and tracking number. Puddle rotates its secret, Grace buys, and her
delivery verifies under the old and the new secret alone; reported fulfilled with a download
link, her order ends fulfilled with it. Puddle's statistics then count both orders forwarded and
delivered, with their amounts and payouts, and another merchant's token cannot read them.
Nothing the merchant got holds a card number or a Stripe id. And the receiver itself refuses
forged, altered, stale and malformed deliveries, handles a repeat once (also after a restart),
and takes either secret of a rotation.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from checkout_support import PUDDLE
from merchant_delivery_support import Leaks, RunningReceiver, running_receiver, signed
from relay_support import new_secret
from shop_support import FIRST_ADDRESS, PAID_OR_LATER, Shop, ShopSetup, new_card_confirmation
from standardwebhooks import Webhook

from buybutton.events import OrderForwarded, OrderFulfilled, OrderShipped
from buybutton.topics import MERCHANT_ORDERS, RELAY
from devstack.testing import read_until

ADA = "buyer-ada-relay-e2e"
GRACE = "buyer-grace-relay-e2e"
ENDPOINT = f"/v1/merchants/{PUDDLE}/endpoint"
ORDERS = f"/v1/merchants/{PUDDLE}/orders"
STATS = f"/v1/merchants/{PUDDLE}/stats"
SHIPMENT = {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
DOWNLOAD = "https://files.puddle.example/d/raincoat-pattern.pdf"
SECRET_OLD, SECRET_NEW, SECRET_OF_NOBODY = (new_secret() for _ in range(3))


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := condition()):
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.05)
    return found


def buy(shop: Shop, buyer_id: str, key: str) -> str:
    tapped = shop.tap(buyer_id, key)
    assert tapped.status_code == 201, tapped.text
    order_id: str = tapped.json()["order_id"]
    confirmed = shop.confirm(buyer_id, order_id, new_card_confirmation("pm_card_visa", remember=False))
    assert confirmed.status_code == 202, confirmed.text
    assert shop.wait_for(buyer_id, order_id, PAID_OR_LATER | {"failed"})["state"] in PAID_OR_LATER
    return order_id


def delivered_once(receiver: RunningReceiver, order_id: str) -> tuple[str, dict[str, Any]]:
    handled = wait_for(lambda: receiver.handled_of(order_id), f"the webhook of {order_id}")
    assert len(handled) == 1, handled
    webhook_id, message = handled[0]
    data = message["data"]
    assert data["merchant_id"] == PUDDLE and data["amount"] == {"amount_minor": 4_999, "currency": "USD"}
    assert {k: data["shipping_address"][k] for k in FIRST_ADDRESS} == FIRST_ADDRESS
    return webhook_id, message


def stripe_ids_of(shop: Shop) -> set[str]:
    ids: set[str] = set()
    for intent_id in shop.stripe.charges()["payment_intents"]:
        intent = shop.stripe_get(f"/v1/payment_intents/{intent_id}").raise_for_status().json()
        ids |= {intent["id"], intent["customer"], intent["payment_method"], intent.get("latest_charge")}
    return {i for i in ids if isinstance(i, str) and i}


def test_a_paid_order_reaches_its_merchant_and_the_reports_reach_the_buyer(shop_setup: ShopSetup) -> None:
    began = time.monotonic()
    with shop_setup.open(relay=True) as shop, running_receiver() as receiver:
        assert shop.relay is not None
        started_s, puddle = time.monotonic() - began, shop.merchant_of_relay(PUDDLE)
        registered = shop.relay.put(ENDPOINT, json={"url": receiver.url}, headers=puddle)
        assert registered.status_code == 201, registered.text
        old_secret = registered.json()["secret"]
        receiver.receiver.accept_secret(old_secret)

        paying = time.monotonic()
        ada_order = buy(shop, ADA, "relay-e2e-ada")
        ada_webhook, _ = delivered_once(receiver, ada_order)
        webhook_s = time.monotonic() - paying
        shipped = shop.relay.post(f"{ORDERS}/{ada_order}/shipment", json=SHIPMENT, headers=puddle)
        assert shipped.status_code in (200, 201), shipped.text
        ada_view = shop.wait_for(ADA, ada_order, {"shipped"})
        assert ada_view["shipment"] == SHIPMENT, ada_view

        rotated = shop.relay.post(f"{ENDPOINT}/secrets/rotate", headers=puddle)
        assert rotated.status_code == 201, rotated.text
        new_secret = rotated.json()["secret"]
        receiver.receiver.accept_secret(new_secret)
        grace_order = buy(shop, GRACE, "relay-e2e-grace")
        grace_webhook, _ = delivered_once(receiver, grace_order)
        fulfilled = shop.relay.post(
            f"{ORDERS}/{grace_order}/fulfilment", json={"download_link": DOWNLOAD}, headers=puddle
        )
        assert fulfilled.status_code in (200, 201), fulfilled.text
        grace_view = shop.wait_for(GRACE, grace_order, {"fulfilled"})
        assert grace_view["fulfilment"]["download_link"] == DOWNLOAD, grace_view

        after_rotation = [r for r in receiver.requests_for(grace_webhook) if r.status == 200]
        for request in after_rotation:
            assert len(request.headers["webhook-signature"].split()) == 2, request.headers
            for secret in (old_secret, new_secret):  # either secret alone verifies it
                Webhook(secret).verify(request.body, request.headers)
        for request in receiver.requests_for(ada_webhook):
            Webhook(old_secret).verify(request.body, request.headers)

        topic = MERCHANT_ORDERS.for_merchant(PUDDLE, shop_setup.prefix)
        keys = {ada_order.encode(), grace_order.encode()}
        records = asyncio.run(read_until(shop_setup.bootstrap, topic, lambda rs: keys <= {r.key for r in rs}))
        by_key = {r.key.decode(): dict(r.headers) for r in records}
        assert by_key[ada_order]["webhook-id"].decode() == ada_webhook
        assert by_key[grace_order]["webhook-id"].decode() == grace_webhook
        forwarded = shop_setup.events(
            OrderForwarded, lambda found: {e.order_id for e in found} >= {ada_order, grace_order}, topic=RELAY
        )
        # the topic comes first; the webhook is among them unless its first try failed
        assert all("topic" in e.channels and set(e.channels) <= {"topic", "webhook"} for e in forwarded)
        reports = [
            *shop_setup.events(OrderShipped, lambda found: len(found) >= 1, topic=RELAY),
            *shop_setup.events(OrderFulfilled, lambda found: len(found) >= 1, topic=RELAY),
            *forwarded,
        ]
        listed = shop.relay.get(ORDERS, headers=puddle).raise_for_status().text
        paid = [o["order"] for o in json.loads(listed)["orders"]]
        stats = wait_for(
            lambda: (
                (shown := shop.relay.get(STATS, headers=puddle).raise_for_status().json())["forwarded"] == 2
                and shown
            ),
            "Puddle's statistics count both orders",
        )
        others = shop.relay.get(STATS, headers=shop.merchant_of_relay("merchant-galosh-gmbh"))
        texts = [r.body.decode() for r in receiver.requests]
        texts += [(r.value or b"").decode() for r in records]
        texts += [e.model_dump_json() for e in reports] + [listed, json.dumps(stats)]
        known_ids = stripe_ids_of(shop)
        leaks = Leaks().scan(texts, known_ids)

    handled = dict(receiver.receiver.handled.messages)
    print(
        f"\n[merchant delivery] shop with relay up in {started_s:.1f} s; confirm to webhook handled "
        f"{webhook_s:.1f} s; webhook POSTs {len(receiver.requests)} (handled {len(handled)}, "
        f"repeats {receiver.receiver.repeats}, refused {receiver.receiver.refused}); "
        f"verified under both secrets after the rotation: {len(after_rotation)}; merchant topic "
        f"records {len(records)}; relay events {len(reports)}; scanned {leaks.scanned} texts "
        f"({leaks.characters} chars) against {len(known_ids)} Stripe ids: card numbers "
        f"{len(leaks.card_numbers)}, Stripe ids {len(leaks.stripe_ids)}; statistics {stats}; "
        f"total {time.monotonic() - began:.1f} s"
    )
    assert len(handled) == 2 and len(known_ids) >= 4, (handled, known_ids)
    assert leaks.card_numbers == [] and leaks.stripe_ids == [], leaks
    currency = paid[0]["amount"]["currency"]
    assert (stats["forwarded"], stats["delivered"], stats["failing"], stats["dead"]) == (2, 2, 0, 0), stats
    assert stats["gmv"] == {currency: sum(o["amount"]["amount_minor"] for o in paid)}, (stats, paid)
    assert stats["payouts"] == {currency: sum(o["payout"]["amount_minor"] for o in paid)}, (stats, paid)
    assert others.status_code == 403, others.text  # another merchant's token reads only its own


def post(receiver: RunningReceiver, delivery: tuple[bytes, dict[str, str]]) -> int:
    body, headers = delivery
    return httpx.post(receiver.url, content=body, headers=headers, timeout=10).status_code


def test_the_example_receiver_refuses_what_it_cannot_verify_and_handles_a_repeat_once(
    tmp_path: Path,
) -> None:
    message = {"type": "order.paid", "timestamp": "2026-12-01T09:00:00Z", "data": {"order_id": "order-1"}}
    now = datetime.now(UTC)
    good = signed([SECRET_OLD], "msg_raincoat_1", now, message)
    altered_body = good[0].replace(b"order-1", b"order-2")
    stale = signed([SECRET_OLD], "msg_raincoat_2", now - timedelta(minutes=6), message)
    early = signed([SECRET_OLD], "msg_raincoat_3", now + timedelta(minutes=6), message)
    missing = {k: v for k, v in good[1].items() if k != "webhook-signature"}
    malformed = {**good[1], "webhook-signature": "v1"}
    refusals = {
        "forged": (signed([SECRET_OF_NOBODY], "msg_forged", now, message), 401),
        "altered": ((altered_body, good[1]), 401),
        "stale": (stale, 401),
        "from the future": (early, 401),
        "unsigned": ((good[0], missing), 400),
        "malformed signature": ((good[0], malformed), 400),
    }
    handled_file = tmp_path / "handled.jsonl"
    with running_receiver([SECRET_OLD, SECRET_NEW], handled_file) as receiver:
        answers = {name: post(receiver, delivery) for name, (delivery, _) in refusals.items()}
        first, repeat = post(receiver, good), post(receiver, good)
        only_new = post(receiver, signed([SECRET_NEW], "msg_rotated", now, message))
        handled_before_restart = len(receiver.receiver.handled.messages)
        refused = receiver.receiver.refused
    with running_receiver([SECRET_OLD], handled_file) as restarted:
        after_restart = post(restarted, good)
        repeats_after_restart = restarted.receiver.repeats
    print(
        f"\n[example receiver] injected {len(refusals)} bad deliveries, refused {refused}: "
        f"{json.dumps(answers)}; good {first}, repeat {repeat}, signed by the new secret {only_new}; "
        f"handled {handled_before_restart}; after a restart the repeat answered {after_restart} "
        f"and was skipped {repeats_after_restart} time(s)"
    )
    assert answers == {name: status for name, (_, status) in refusals.items()}
    assert refused == len(refusals)
    assert (first, repeat, only_new) == (200, 200, 200) and handled_before_restart == 2
    assert (after_restart, repeats_after_restart) == (200, 1)
    assert len(handled_file.read_text().splitlines()) == 2
