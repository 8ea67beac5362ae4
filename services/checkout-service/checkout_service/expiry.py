"""The sweeper: ends abandoned checkouts. Every instance runs one; that is safe because each
step is a unit of work that changes nothing when another instance took it first.

Each round: (1) every ``held`` order past its hold_expires_at is cancelled (OrderCancelled,
reason hold_expired, with its released_quantity) and its hold released on the catalogue
(cause ``release:<order_id>``); (2) every hold past its expiry by ``orphan_grace_s`` whose order
is missing or ended unpaid is released: an orphan (the instance that held it died before
creating the order), or the hold of an order whose cancel was cut short before its release. An
order on its way to payment keeps its hold. The grace keeps a hold whose order is still being
written from being taken for an orphan; (3) every order still in payment (confirming, or waiting
for 3-D Secure) after its hold expired gets a PaymentCheckRequested (reason hold_expired), at
most once per ``payment_check_s``: the payment worker then asks Stripe, and cancels a 3-D Secure
the buyer never finished, so no order waits for a webhook that never comes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pymongo.collection import Collection

from buybutton.faults import is_transient
from checkout_service.checkout import Checkout
from checkout_service.holds import expired_holds
from checkout_service.order_payment import IN_PAYMENT, check_requested

log = structlog.get_logger(__name__)
BATCH = 200
# an order being paid keeps its hold past expiry: payment turns it into a sale or ends the order
ENDED_UNPAID = frozenset({"cancelled", "failed"})


@dataclass(frozen=True)
class Swept:
    expired_orders: int
    orphans_released: int
    payment_checks: int = 0


@dataclass
class Sweeper:
    checkout: Checkout
    orders: Collection[dict[str, Any]]
    catalogue: Collection[dict[str, Any]]
    orphan_grace_s: float
    payment_check_s: float = 30.0

    def sweep_once(self) -> Swept:
        now = self.checkout.clock()
        expired = 0
        overdue = self.orders.find({"state": "held", "hold_expires_at": {"$lt": now}}, {"_id": 1})
        for order in overdue.limit(BATCH):
            expired += self.checkout.end_order(order["_id"], "hold_expired", expired_before=now).cancelled_now
        orphans = self._release_orphans(now - timedelta(seconds=self.orphan_grace_s))
        return Swept(expired, orphans, self._check_payments(now))

    def _check_payments(self, now: datetime) -> int:
        checked_before = now - timedelta(seconds=self.payment_check_s)
        stuck = self.orders.find(
            {
                "state": {"$in": sorted(IN_PAYMENT)},
                "hold_expires_at": {"$lt": now},
                "$or": [{"check_requested_at": None}, {"check_requested_at": {"$lt": checked_before}}],
            },
            {"_id": 1},
        )
        asked = 0
        for order in stuck.limit(BATCH):
            asked += self.checkout.orders.apply(order["_id"], check_requested("hold_expired", now)).committed
        return asked

    def _release_orphans(self, before: datetime) -> int:
        released = 0
        for tweet in self.catalogue.find({"holds.expires_at": {"$lt": before}}, {"holds": 1}).limit(BATCH):
            for hold in expired_holds(tweet, before):
                order = self.checkout.orders.load(hold["order_id"]).state
                if order is not None and order["state"] == "held":  # its order's own expiry, as in (1)
                    self.checkout.end_order(hold["order_id"], "hold_expired", expired_before=before)
                elif order is None or order["state"] in ENDED_UNPAID:
                    released += self.checkout.release(tweet["_id"], hold["order_id"])
        return released

    async def run(self, stop: asyncio.Event, interval_s: float) -> None:
        while not stop.is_set():
            try:
                swept = await asyncio.to_thread(self.sweep_once)
                if swept.expired_orders or swept.orphans_released or swept.payment_checks:
                    log.info("holds swept", **vars(swept))
            except Exception as error:  # the sweeper outlives any one round; the next round retries
                level = log.warning if is_transient(error) else log.error
                level("sweep failed; trying again next round", error_class=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)


class SweeperTask:
    """The sweeper as a part of the service runtime: started in the lifespan, stopped with it."""

    def __init__(self, sweeper: Sweeper, interval_s: float) -> None:
        self.sweeper, self.interval_s = sweeper, interval_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.sweeper.run(self._stop, self.interval_s))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
