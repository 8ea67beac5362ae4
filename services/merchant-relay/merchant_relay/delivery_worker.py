"""The delivery worker: ``lanes`` loops per instance, each claiming one due delivery at a time
(deliveries.py's lease) and making one attempt of it. The lanes share one queue of due
deliveries (``DueQueue``), refilled with one read of a batch when it runs dry, so they aim at
different deliveries, and an instance with nothing due reads the database once per idle pause,
not once per lane.

An attempt reads the buyer's address for this one order from the vault (none after an erasure),
builds the merchant's message (payload.py), publishes it to the merchant's topic unless an
earlier attempt did, then POSTs it, signed, to the merchant's endpoint if it has one
(webhook.py). The receiver's answer decides what follows (retry_policy.py): delivered, retried
later, gone (410) or dead past the horizon. Once the merchant has a paid order on any channel the
relay order records it and, the first time, OrderForwarded goes out through its outbox
(relay_orders.forwarded).

The vault away (or behind) or the topic failing is a failed attempt like a receiver's: retried
with backoff within the horizon. Any other error leaves the claim to expire (the lease), so the
delivery is tried again, by this instance or another, under the same webhook-id.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from pymongo.collection import Collection

from buybutton.events.relay import DeliveryStanding
from buybutton.unit_of_work import AggregateStore
from merchant_relay import delivery_changes, relay_orders
from merchant_relay.deliveries import DEAD, DELIVERED, GONE, Claim, Deliveries
from merchant_relay.endpoints import endpoint_of
from merchant_relay.merchant_topic import MerchantTopics
from merchant_relay.payload import message_for
from merchant_relay.retry_policy import Backoff, Next, after_answer, after_failure
from merchant_relay.vault_client import VaultClient, VaultUnavailable
from merchant_relay.webhook import WebhookSender

log = structlog.get_logger(__name__)
SETTLED: dict[str, DeliveryStanding] = {"delivered": DELIVERED, "gone": GONE, "dead": DEAD}


@dataclass
class WorkerStats:
    attempts: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    gone: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class DeliveryWorker:
    deliveries: Deliveries
    orders: AggregateStore
    endpoints: Collection[dict[str, Any]]
    vault: VaultClient
    topics: MerchantTopics
    sender: WebhookSender
    backoff: Backoff
    clock: Callable[[], datetime]
    lease: timedelta
    stats: WorkerStats = field(default_factory=WorkerStats)

    idle_s: float = 0.2  # a lane's pause when nothing is due
    due: DueQueue = field(init=False)

    def __post_init__(self) -> None:
        self.due = DueQueue(self.deliveries, self.clock, quiet_s=self.idle_s)

    async def attempt_one(self) -> bool:
        """Claim one due delivery and attempt it; False when none was due."""
        claim = await self.due.claim(self.lease)
        if claim is None:
            return False
        self.stats.attempts += 1
        try:
            await self._attempt(claim)
        except Exception as error:  # the lease expires and the delivery is tried again
            self.stats.errors += 1
            log.error(
                "delivery attempt failed", delivery_id=claim.delivery_id, error_class=type(error).__name__
            )
        return True

    async def _attempt(self, claim: Claim) -> None:
        relay_order = (await asyncio.to_thread(self.orders.load, claim.order_id)).state
        if not relay_order or not relay_order.get("order"):
            await self._conclude(claim, Next("dead"), status="no paid order")
            return
        paid = relay_order["order"]
        try:
            shipping = await self.vault.shipping(str(relay_order["buyer_id"]), claim.order_id)
        except VaultUnavailable as error:
            await self._failed(claim, paid, status="vault unavailable", detail=str(error))
            return
        now = self.clock()
        body = message_for(claim.kind, dict(relay_order), shipping, now=now).model_dump_json()
        reached = set(claim.channels)
        if "topic" not in reached:
            try:
                await self.topics.publish(
                    claim.merchant_id, claim.order_id, claim.delivery_id, claim.kind, body
                )
            except Exception as error:
                await self._failed(claim, paid, status="topic publish failed", detail=type(error).__name__)
                return
            reached.add("topic")
        endpoint = await asyncio.to_thread(endpoint_of, self.endpoints, claim.merchant_id, now=now)
        if endpoint is None:
            await self._record_reached(claim, relay_order, reached)
            await self._conclude(claim, Next("delivered"), status="topic", reached=reached, order=paid)
            return
        answer = await self.sender.send(endpoint.url, endpoint.secrets, claim.delivery_id, body, now=now)
        verdict = after_answer(
            self.backoff,
            answer.status,
            retry_after=answer.retry_after,
            failures=claim.attempt,
            first_attempt_at=claim.first_attempt_at,
            now=self.clock(),
        )
        if verdict.verdict == "delivered":
            reached.add("webhook")
        await self._record_reached(claim, relay_order, reached)
        status = str(answer.status or answer.error)
        await self._conclude(claim, verdict, status=status, reached=reached, order=paid)

    async def _record_reached(self, claim: Claim, relay_order: Mapping[str, Any], reached: set[str]) -> None:
        """The relay order learns the channels a paid order reached (unless it knows them)."""
        if claim.kind != "order.paid" or reached <= set(relay_order.get("channels", [])):
            return
        await asyncio.to_thread(self.orders.apply, claim.order_id, relay_orders.forwarded(reached))

    async def _failed(self, claim: Claim, order: Mapping[str, Any], *, status: str, detail: str) -> None:
        verdict = after_failure(
            self.backoff,
            failures=claim.attempt,
            first_attempt_at=claim.first_attempt_at,
            now=self.clock(),
            asked_s=None,
        )
        log.warning(
            "delivery attempt failed before the webhook", delivery_id=claim.delivery_id, detail=detail
        )
        await self._conclude(claim, verdict, status=status, order=order)

    async def _conclude(
        self,
        claim: Claim,
        verdict: Next,
        *,
        status: str,
        reached: set[str] | None = None,
        order: Mapping[str, Any] | None = None,
    ) -> None:
        """The attempt's outcome in one write, with the channels it reached and what the
        statistics learn from it (``order``: the merchant's copy of the paid order)."""
        channels = reached or set()
        standing = "failing" if verdict.verdict == "retry" else SETTLED[verdict.verdict]
        change = delivery_changes.after_attempt(claim, standing=standing, reached=channels, order=order)
        if verdict.verdict == "retry":
            assert verdict.at is not None
            self.stats.retried += 1
            await asyncio.to_thread(
                self.deliveries.retry_at, claim, verdict.at, status=status, reached=channels, change=change
            )
            return
        await asyncio.to_thread(
            self.deliveries.settle,
            claim,
            standing,
            status=status,
            now=self.clock(),
            reached=channels,
            change=change,
        )
        setattr(self.stats, verdict.verdict, getattr(self.stats, verdict.verdict) + 1)
        context = {"delivery_id": claim.delivery_id, "merchant_id": claim.merchant_id, "status": status}
        if verdict.verdict == "dead":
            log.error("delivery dead-lettered after its horizon", attempts=claim.attempt, **context)
        elif verdict.verdict == "gone":
            log.warning("merchant endpoint answered 410 gone; delivery stopped", **context)

    async def run_lane(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                worked = await self.attempt_one()
            except Exception as error:  # the database away: wait and claim again
                log.warning("claiming a delivery failed", error_class=type(error).__name__)
                worked = False
            if not worked:
                await self.due.idle(stop, self.idle_s)


class DueQueue:
    """The due deliveries this instance's lanes take their claims from: one read of up to
    ``batch`` ids when it runs dry (one lane reads, the others wait for it), then a claim per id.
    An id claimed meanwhile by another instance, or already settled, is skipped. A read that
    found nothing due holds for ``quiet_s``: idle lanes then ask the database once per pause
    between them, not once each; ``poke`` (a delivery of this instance's intake is due now) ends
    the pause and wakes the idle lanes at once."""

    def __init__(
        self,
        deliveries: Deliveries,
        clock: Callable[[], datetime],
        *,
        batch: int = 64,
        quiet_s: float = 0.0,
    ) -> None:
        self.deliveries = deliveries
        self.clock = clock
        self.batch = batch
        self.quiet_s = quiet_s
        self._ids: collections.deque[str] = collections.deque()
        self._refilling = asyncio.Lock()
        self._quiet_until = 0.0
        self._poked = asyncio.Event()

    def poke(self) -> None:
        self._quiet_until = 0.0
        self._poked.set()

    async def idle(self, stop: asyncio.Event, pause_s: float) -> None:
        """Until ``pause_s`` passed, a poke came or ``stop`` was set."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._poked.wait())]
        try:
            await asyncio.wait(waits, timeout=pause_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def claim(self, lease: timedelta) -> Claim | None:
        """A claim of the next due delivery; None when nothing is due."""
        while True:
            if not self._ids and not await self._refill():
                return None
            while self._ids:
                delivery_id = self._ids.popleft()
                claim = await asyncio.to_thread(
                    self.deliveries.claim, delivery_id, now=self.clock(), lease=lease
                )
                if claim is not None:
                    return claim

    async def _refill(self) -> bool:
        async with self._refilling:
            if self._ids:  # another lane refilled while this one waited
                return True
            if time.monotonic() < self._quiet_until:  # another lane just found nothing due
                return False
            self._poked.clear()  # this read sees what was poked before it
            due = await asyncio.to_thread(self.deliveries.due, now=self.clock(), limit=self.batch)
            self._ids.extend(due)
            if not due:
                self._quiet_until = time.monotonic() + self.quiet_s
            return bool(due)


class DeliveryLanes:
    """The worker's lanes as one started part of the runtime."""

    def __init__(self, worker: DeliveryWorker, *, lanes: int) -> None:
        self.worker = worker
        self.lanes = lanes
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self.worker.run_lane(self._stop)) for _ in range(self.lanes)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
