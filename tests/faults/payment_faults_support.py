"""What the payment guarantee tests share: the orders' charges as the fake Stripe counted them,
duplicates of an order's events put on the orders topic again (the same event id, as a
redelivery carries), and taps and confirmations of many orders at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shop_support import ENDED, Shop, ShopSetup, new_card_confirmation

from buybutton.events import Event
from buybutton.kafka.codec import decode
from buybutton.kafka.producer import EventPublisher
from buybutton.topics import CHECKOUT, PAYMENTS_GROUP
from devstack.testing import read_until, wait_caught_up


def charges_by_order(shop: Shop) -> dict[str, int]:
    """Succeeded charges per order id at the fake Stripe (this test's account only)."""
    report = shop.stripe.charges()
    return {order: int(figures.get("charges", 0)) for order, figures in report["orders"].items()}


def double_charges(charges: dict[str, int]) -> int:
    return sum(count - 1 for count in charges.values() if count > 1)


async def _find_event(setup: ShopSetup, order_id: str, event_type: str) -> Event:
    topic = CHECKOUT.named(setup.prefix)

    def found(records: Any) -> bool:
        return any(_matches(r, order_id, event_type) for r in records)

    records = await read_until(setup.bootstrap, topic, found, timeout_s=60)
    record = next(r for r in records if _matches(r, order_id, event_type))
    return decode(record.value, record.headers)


def _matches(record: Any, order_id: str, event_type: str) -> bool:
    headers = dict(record.headers or [])
    return record.key == order_id.encode() and headers.get("event_type") == event_type.encode()


async def _publish_copies(setup: ShopSetup, event: Event, copies: int, *, concurrently: bool) -> None:
    publisher = await EventPublisher.start(
        setup.bootstrap, client_id="tests-duplicates", topic_prefix=setup.prefix
    )
    try:
        if concurrently:
            await asyncio.gather(*(publisher.publish(event) for _ in range(copies)))
        else:
            for _ in range(copies):
                await publisher.publish(event)
    finally:
        await publisher.stop()


def redeliver(setup: ShopSetup, order_id: str, event_type: str, copies: int, *, concurrently: bool) -> None:
    """Put ``copies`` more records of the order's ``event_type`` event on the orders topic."""

    async def run() -> None:
        event = await _find_event(setup, order_id, event_type)
        await _publish_copies(setup, event, copies, concurrently=concurrently)

    asyncio.run(run())


def buy_and_confirm(
    shop: Shop, buyers: Iterable[str], payment_method: str = "pm_card_visa", *, remember: bool = False
) -> dict[str, str]:
    """Tap Buy and confirm with a new card for each buyer, side by side; {order_id: buyer}."""

    def one(buyer: str) -> tuple[str, str]:
        tapped = shop.tap(buyer, f"tap-{buyer}")
        assert tapped.status_code == 201, tapped.text
        order_id = tapped.json()["order_id"]
        confirmed = shop.confirm(buyer, order_id, new_card_confirmation(payment_method, remember=remember))
        assert confirmed.status_code == 202, confirmed.text
        return order_id, buyer

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(one, buyers))


def wait_all_ended(shop: Shop, orders: dict[str, str], timeout_s: float = 120) -> dict[str, str]:
    """Each order's final state: {order_id: state}."""
    return {
        order_id: shop.wait_for(buyer, order_id, ENDED, timeout_s)["state"]
        for order_id, buyer in orders.items()
    }


def wait_payments_caught_up(setup: ShopSetup, timeout_s: float = 60) -> None:
    """Until the payment worker's group has committed every record of the orders topic."""
    asyncio.run(
        wait_caught_up(setup.bootstrap, PAYMENTS_GROUP, CHECKOUT.named(setup.prefix), timeout_s=timeout_s)
    )
