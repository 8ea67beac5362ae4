"""Open-loop load for bench/checkout.py: orders started at a fixed rate whatever the shop
answers (a slow shop gets no relief from a waiting client), each one a tap Buy and a confirm
with a new buyer's card (pm_card_visa, remembered), and a watcher of checkout.orders.v1 that
notes when each order's OrderConfirmed and PaymentCaptured reach the bench.

Consumes the shop's HTTP API and its orders topic; produces one ``Order`` per order started
(wall-clock and monotonic times of its steps) and, per run, the latencies from the tap request
to PaymentCaptured observed on the topic. The rule it keeps: an order counts as paid only once
its PaymentCaptured was read from the topic, never from an answer of the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaConsumer
from shop_support import Shop, new_card_confirmation

from buybutton.events import OrderConfirmed, PaymentCaptured
from buybutton.kafka.codec import decode
from buybutton.sensitive import card_free

WATCHED = {b"OrderConfirmed", b"PaymentCaptured"}
TAP = {"tweet_id": "tweet-puddle-raincoat", "variant_id": "raincoat-m", "quantity": 1}


@dataclass
class Order:
    """One order the load started: when each of its steps began and ended, and what went wrong."""

    buyer_id: str
    tap_sent_at: float  # wall clock, comparable with the services' and the fake's timestamps
    tap_sent: float  # monotonic
    order_id: str | None = None
    tap_answered_at: float | None = None
    confirm_answered_at: float | None = None
    error: str | None = None


@dataclass
class Captured:
    observed_at: float  # wall clock
    observed: float  # monotonic
    occurred_at: float  # PaymentCaptured's own time, set by checkout as it committed the capture


@dataclass
class CapturedWatcher:
    """Reads the orders topic from its start for as long as the bench runs."""

    consumer: AIOKafkaConsumer
    seen: dict[str, Captured] = field(default_factory=dict)
    confirmed_seen: dict[str, float] = field(default_factory=dict)  # OrderConfirmed read, wall clock
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, bootstrap: str, topic: str) -> CapturedWatcher:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        watcher = cls(consumer)
        watcher.task = asyncio.create_task(watcher._read())
        return watcher

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            observed_at, observed = time.time(), time.perf_counter()
            for records in batches.values():
                for record in records:
                    if dict(record.headers).get("event_type") not in WATCHED:
                        continue
                    event = decode(record.value, record.headers)
                    if isinstance(event, OrderConfirmed):
                        self.confirmed_seen.setdefault(event.order_id, observed_at)
                    elif isinstance(event, PaymentCaptured) and event.order_id not in self.seen:
                        self.seen[event.order_id] = Captured(
                            observed_at, observed, event.occurred_at.timestamp()
                        )
                        self.arrived.set()

    async def wait_for(self, order_ids: set[str], timeout_s: float) -> set[str]:
        """The ids of ``order_ids`` still not captured after at most ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while (missing := order_ids - self.seen.keys()) and (left := deadline - time.monotonic()) > 0:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)
        return missing

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.consumer.stop()


async def place_order(http: httpx.AsyncClient, shop: Shop, buyer_id: str) -> Order:
    order = Order(buyer_id, time.time(), time.perf_counter())
    headers = shop.buyer(buyer_id)
    try:
        # a random key is drawn card-free: about one hex key in a thousand holds a Luhn-valid run
        # of 13 digits, which checkout refuses (422) as card data, as it must
        key = card_free(lambda: secrets.token_hex(8))
        tapped = await http.post("/v1/orders", json=TAP, headers={**headers, "Idempotency-Key": key})
        order.tap_answered_at = time.time()
        if tapped.status_code != 201:
            order.error = f"tap {tapped.status_code}"
            return order
        order.order_id = tapped.json()["order_id"]
        confirmed = await http.post(
            f"/v1/orders/{order.order_id}/confirm", json=new_card_confirmation(), headers=headers
        )
        order.confirm_answered_at = time.time()
        if confirmed.status_code != 202:
            order.error = f"confirm {confirmed.status_code}"
    except httpx.HTTPError as problem:
        order.error = type(problem).__name__
    return order


@dataclass
class Run:
    label: str
    target_per_s: float
    orders: list[Order]
    sending_s: float  # from the first tap sent to the last one

    def offered_per_s(self) -> float:
        return len(self.orders) / max(self.sending_s, 1e-9)

    def confirmed_ids(self) -> set[str]:
        return {o.order_id for o in self.orders if o.order_id is not None and o.error is None}

    def errors(self) -> list[str]:
        return [o.error for o in self.orders if o.error is not None]


async def open_loop(
    http: httpx.AsyncClient, shop: Shop, *, label: str, per_s: float, duration_s: float
) -> Run:
    """``per_s * duration_s`` orders, the n-th started at n / per_s seconds, none waited for."""
    count = max(1, round(per_s * duration_s))
    # a new buyer for every order of the bench, so each is a first purchase with its own customer
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + "-" + secrets.token_hex(3)
    began = time.perf_counter()
    started: list[asyncio.Task[Order]] = []
    for n in range(count):
        await asyncio.sleep(max(0.0, began + n / per_s - time.perf_counter()))
        started.append(asyncio.create_task(place_order(http, shop, f"buyer-{slug}-{n}")))
    sending_s = time.perf_counter() - began + 1 / per_s
    return Run(label, per_s, list(await asyncio.gather(*started)), sending_s)
