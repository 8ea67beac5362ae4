"""The lanes' shared queue of due deliveries: lanes aim at different deliveries, a delivery
another instance claimed first is skipped, and idle lanes read the database once per pause
between them, not once each."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from merchant_relay.deliveries import Claim
from merchant_relay.delivery_worker import DueQueue

LEASE = timedelta(seconds=30)


@dataclass
class DeliveriesSeen:
    """The two calls DueQueue makes, over ids due now; ``taken`` were claimed elsewhere first."""

    due_now: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)
    reads: int = 0
    claims: list[str] = field(default_factory=list)

    def due(self, *, now: datetime, limit: int) -> list[str]:
        self.reads += 1
        time.sleep(0.01)  # a database round trip, so the lanes overlap
        return self.due_now[:limit]

    def claim(self, delivery_id: str, *, now: datetime, lease: timedelta) -> Claim | None:
        self.claims.append(delivery_id)
        if delivery_id in self.taken or delivery_id not in self.due_now:
            return None
        self.due_now.remove(delivery_id)
        return Claim(delivery_id, f"order-{delivery_id}", "merchant-puddle", "order.paid", 1, now, ())


def now() -> datetime:
    return datetime.now(UTC)


async def test_lanes_claim_different_deliveries_and_skip_one_taken_elsewhere() -> None:
    store = DeliveriesSeen(due_now=[f"msg_{n}" for n in range(10)], taken={"msg_3"})
    queue = DueQueue(store, now, batch=64, quiet_s=0.5)  # type: ignore[arg-type]
    claims = await asyncio.gather(*(queue.claim(LEASE) for _ in range(9)))
    got = [c.delivery_id for c in claims if c is not None]
    assert sorted(got) == sorted(f"msg_{n}" for n in range(10) if n != 3)
    assert store.reads == 1 and store.claims.count("msg_3") == 1


async def test_idle_lanes_read_once_per_pause() -> None:
    store = DeliveriesSeen()
    queue = DueQueue(store, now, quiet_s=0.3)  # type: ignore[arg-type]
    assert await asyncio.gather(*(queue.claim(LEASE) for _ in range(16))) == [None] * 16
    assert store.reads == 1
    assert await queue.claim(LEASE) is None and store.reads == 1  # still quiet
    store.due_now = ["msg_new"]
    await asyncio.sleep(0.35)
    claim = await queue.claim(LEASE)
    assert claim is not None and claim.delivery_id == "msg_new" and store.reads == 2


async def test_a_poke_wakes_idle_lanes_before_their_pause_ends() -> None:
    store = DeliveriesSeen()
    queue = DueQueue(store, now, quiet_s=30)  # type: ignore[arg-type]
    stop = asyncio.Event()

    async def lane() -> Claim:
        while (claim := await queue.claim(LEASE)) is None:
            await queue.idle(stop, 30)
        return claim

    lanes = [asyncio.create_task(lane()) for _ in range(4)]
    await asyncio.sleep(0.05)
    assert store.reads == 1  # the first read found nothing; the pause holds for the others
    began = time.monotonic()
    store.due_now = ["msg_new"]
    queue.poke()
    done, waiting = await asyncio.wait(lanes, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    took = time.monotonic() - began
    stop.set()
    for task in waiting:
        task.cancel()
    assert [t.result().delivery_id for t in done] == ["msg_new"] and took < 5
