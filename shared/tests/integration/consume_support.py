"""Test support for the consume loop's broker tests: memorable orders, a loop as checkout's
consumers would run it, where each record landed, and what a group has committed."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition

from buybutton.events import BuyClicked
from buybutton.events.examples import sample_events
from buybutton.kafka.codec import decode
from buybutton.kafka.consumer import ConsumeLoop, Handler, RetryPolicy
from buybutton.kafka.partitions import partition_ids
from buybutton.kafka.producer import EventPublisher
from devstack.testing import read_all

FAST_RETRY = RetryPolicy(attempts=3, first_backoff_s=0.01, max_backoff_s=0.05)
Position = tuple[int, int]  # (partition, offset)


def clicks(count: int, order_id: str = "order-raincoat-1", *, first: int = 0) -> list[BuyClicked]:
    """``count`` distinct BuyClicked events for one order (one key, so one partition), in order,
    numbered from ``first``."""
    template = next(e for e in sample_events() if isinstance(e, BuyClicked))
    return [
        template.model_copy(update={"order_id": order_id, "event_id": f"{order_id}.click-{n}"})
        for n in range(first, first + count)
    ]


def interleaved(orders: Iterable[str], per_order: int, *, first: int = 0) -> list[BuyClicked]:
    """``per_order`` clicks for each order, interleaved: o1.0, o2.0, ..., o1.1, o2.1, ..."""
    by_order = [clicks(per_order, order, first=first) for order in orders]
    return [events[n] for n in range(per_order) for events in by_order]


def click_loop(
    bootstrap: str,
    publisher: EventPublisher,
    group: str,
    handler: Handler,
    *,
    consumer: str = "merchant-relay",
    retry: RetryPolicy = FAST_RETRY,
    batch_size: int = 100,
    lanes: int = 1,
) -> ConsumeLoop:
    """A loop routing BuyClicked to ``handler`` in group ``group``, named in the registry as
    ``consumer`` (a consumer of checkout.orders.v1), so its DLQ and retry topics exist."""
    return ConsumeLoop(
        bootstrap_servers=bootstrap,
        group_id=group,
        consumer_name=consumer,
        routes={BuyClicked: handler},
        publisher=publisher,
        retry=retry,
        batch_size=batch_size,
        session_timeout_ms=6000,
        lanes=lanes,
    )


@asynccontextmanager
async def running(loop: ConsumeLoop) -> AsyncIterator[asyncio.Task[None]]:
    """The loop started and running in a task; stopped (and the task awaited) on exit."""
    await loop.start()
    task = asyncio.create_task(loop.run())
    try:
        yield task
    finally:
        await loop.stop()
        await task


async def positions(bootstrap: str, topic: str) -> dict[str, Position]:
    """event_id -> (partition, offset) of every readable record on ``topic`` now."""
    found = {}
    for record in await read_all(bootstrap, topic):
        found[decode(record.value, record.headers).event_id] = (record.partition, record.offset)
    return found


async def committed_and_end(bootstrap: str, group: str, topic: str) -> tuple[dict[int, int], dict[int, int]]:
    """(the group's committed offsets, the end offsets) per partition of ``topic``; -1 = none."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partition_ids(consumer, topic)]
        ends = await consumer.end_offsets(partitions)
        committed = {tp.partition: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
    return (
        {p: -1 if c is None else c for p, c in committed.items()},
        {tp.partition: end for tp, end in ends.items()},
    )


def out_of_order(handled: list[str], where: dict[str, Position]) -> list[str]:
    """Each record handled after a later record of its partition (a repeat is not a violation:
    it is a redelivery, counted apart)."""
    last: dict[int, int] = defaultdict(lambda: -1)
    seen: set[str] = set()
    problems = []
    for event_id in handled:
        partition, offset = where[event_id]
        if event_id not in seen and offset < last[partition]:
            problems.append(f"{event_id} at {partition}/{offset} after offset {last[partition]}")
        seen.add(event_id)
        last[partition] = max(last[partition], offset)
    return problems


def out_of_key_order(handled: Iterable[str], produced: Iterable[BuyClicked]) -> list[str]:
    """Each order whose records were first handled in another order than produced (a member
    that took the order over part-way starts later in it; a repeat is a redelivery, not a
    violation)."""
    place = {event.event_id: (event.order_id, n) for n, event in enumerate(produced)}
    last: dict[str, int] = {}
    problems = []
    for event_id in (e for e in dict.fromkeys(handled) if e in place):
        order, n = place[event_id]
        if n < last.get(order, -1):
            problems.append(f"{event_id} after a later record of {order}")
        last[order] = max(n, last.get(order, -1))
    return problems


async def until_committed_to_end(
    bootstrap: str, group: str, topic: str, *, timeout_s: float = 30
) -> dict[int, int]:
    """Wait until ``group`` has committed every partition of ``topic`` up to its end."""
    deadline = time.monotonic() + timeout_s
    while True:
        committed, end = await committed_and_end(bootstrap, group, topic)
        if all(committed[p] == end[p] for p in end if end[p] > 0):
            return committed
        if time.monotonic() > deadline:
            raise AssertionError(f"{group} on {topic}: committed {committed}, end {end} after {timeout_s} s")
        await asyncio.sleep(0.2)
