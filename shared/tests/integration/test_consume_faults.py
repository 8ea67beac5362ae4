"""The consume loop under faults, against the real broker: a dependency away for 10 s while
records keep arriving, a handler that hangs, and stop() in the middle of both. Transient
failures are waited out holding the partition: nothing is dead-lettered, lost or reordered."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from consume_support import (
    click_loop,
    clicks,
    committed_and_end,
    interleaved,
    out_of_order,
    positions,
    running,
    until_committed_to_end,
)
from pymongo.errors import AutoReconnect

from buybutton.events import BuyClicked
from buybutton.kafka.consumer import RetryPolicy
from buybutton.kafka.producer import EventPublisher
from buybutton.topics import CHECKOUT
from devstack.testing import read_all, wait_for

RELAY = "merchant-relay"
OUTAGE_S = 10.0


async def test_a_ten_second_outage_is_waited_out_holding_each_partition_in_order(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    orders = [f"order-{name}" for name in ("raincoat", "umbrella", "wellies", "scarf")]
    before = interleaved(orders, 3)
    during = interleaved([*orders, "order-gloves", "order-beanie"], 4, first=3)
    await publisher.publish_all(before)
    outage_ends: float | None = None
    injected = 0
    handled: list[str] = []

    async def forward_order(event: BuyClicked) -> None:
        nonlocal outage_ends, injected
        outage_ends = outage_ends or time.monotonic() + OUTAGE_S
        if time.monotonic() < outage_ends:
            injected += 1
            raise AutoReconnect("connection to the order store closed")
        handled.append(event.event_id)

    problems: list[tuple[float, str | None]] = []
    group = f"{unique_name}-relay"
    retry = RetryPolicy(attempts=3, first_backoff_s=0.05, max_backoff_s=1.0)
    loop = click_loop(kafka_bootstrap, publisher, group, forward_order, retry=retry)

    async def keep_producing() -> None:
        for event in during:  # records for the same and for new keys arrive during the outage
            await publisher.publish(event)
            await asyncio.sleep(OUTAGE_S / len(during))

    async def watch_health() -> None:
        while True:
            problems.append((time.monotonic(), loop.problem()))
            await asyncio.sleep(0.2)

    async with running(loop):
        producing, watching = asyncio.create_task(keep_producing()), asyncio.create_task(watch_health())
        await producing
        everything = [e.event_id for e in [*before, *during]]
        await wait_for(lambda: set(handled) >= set(everything), timeout_s=60, what="every record handled")
        topic = CHECKOUT.named(publisher.topic_prefix)
        await until_committed_to_end(kafka_bootstrap, group, topic)
        await wait_for(lambda: problems[-1][1] is None, what="the health problem cleared")
        watching.cancel()

    assert outage_ends is not None
    reported = [(at, text) for at, text in problems if text]
    dead = await read_all(kafka_bootstrap, CHECKOUT.dlq_named(publisher.topic_prefix, RELAY))
    where = await positions(kafka_bootstrap, topic)
    disorder = out_of_order(handled, where)
    repeats = {e: n for e, n in Counter(handled).items() if n > 1}
    print(
        f"outage {OUTAGE_S:.0f} s: {injected} failures injected; produced {len(everything)} "
        f"({len(before)} before, {len(during)} during); handled {len(handled)}, lost "
        f"{len(set(everything) - set(handled))}, repeated {len(repeats)}, dead-lettered {len(dead)}, "
        f"out of order {len(disorder)}; loop stats {loop.stats}; health reported "
        f"{len(reported)} times, first {reported[0][1] if reported else None!r}"
    )
    assert injected > 0 and loop.stats.transient_retries == injected
    assert loop.stats.dead_lettered == 0 and dead == []
    assert set(handled) == set(everything) and not repeats
    assert disorder == []
    for order in {e.order_id for e in [*before, *during]}:
        produced = [e.event_id for e in [*before, *during] if e.order_id == order]
        assert [e for e in handled if e.startswith(order + ".")] == produced, f"{order} in produce order"
    assert reported, "the outage was reported to the health check"
    assert all(at < outage_ends + 2.0 for at, _ in reported), "reported during the outage only"
    assert "AutoReconnect" in reported[0][1] and topic in reported[0][1]
    assert problems[-1][1] is None


async def test_a_hung_attempt_times_out_and_is_retried_and_stop_ends_a_hang_at_once(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    events = clicks(3)
    await publisher.publish_all(events)
    attempts: Counter[str] = Counter()
    handled: list[str] = []
    hung = asyncio.Event()
    [stuck] = clicks(1, order_id="order-stuck-1")
    hangs_first = {events[0].event_id, stuck.event_id}

    async def forward_order(event: BuyClicked) -> None:
        attempts[event.event_id] += 1
        if attempts[event.event_id] == 1 and event.event_id in hangs_first:
            hung.set()
            await asyncio.Event().wait()  # the merchant's endpoint never answers
        handled.append(event.event_id)

    retry = RetryPolicy(first_backoff_s=0.05, attempt_timeout_s=1.0)
    group = f"{unique_name}-relay"
    loop = click_loop(kafka_bootstrap, publisher, group, forward_order, retry=retry)
    async with running(loop):
        await wait_for(lambda: len(handled) == len(events), what="every record after the hang")
    print(f"hung attempts injected: 1; attempts {dict(attempts)}; stats {loop.stats}")
    assert handled == [e.event_id for e in events]
    assert attempts[events[0].event_id] == 2 and loop.stats.transient_retries == 1
    assert loop.stats.dead_lettered == 0
    assert await read_all(kafka_bootstrap, CHECKOUT.dlq_named(publisher.topic_prefix, RELAY)) == []

    await publisher.publish(stuck)
    hung.clear()
    forever = click_loop(
        kafka_bootstrap,
        publisher,
        f"{unique_name}-stuck",
        forward_order,
        retry=RetryPolicy(attempt_timeout_s=30),
    )
    await forever.start()
    runner = asyncio.create_task(forever.run())
    await wait_for(hung.is_set, what="the handler hanging")
    started = time.monotonic()
    await forever.stop()
    await runner
    hang_stop_s = time.monotonic() - started

    async def always_down(event: BuyClicked) -> None:
        hung.set()
        raise AutoReconnect("still down")

    backing_off = click_loop(
        kafka_bootstrap,
        publisher,
        f"{unique_name}-backoff",
        always_down,
        retry=RetryPolicy(first_backoff_s=30, max_backoff_s=30),
    )
    hung.clear()
    await backing_off.start()
    runner = asyncio.create_task(backing_off.run())
    await wait_for(hung.is_set, what="the first failure, then a 30 s backoff")
    started = time.monotonic()
    await backing_off.stop()
    await runner
    backoff_stop_s = time.monotonic() - started
    print(f"stop() during a hang took {hang_stop_s:.3f} s, during a 30 s backoff {backoff_stop_s:.3f} s")
    assert hang_stop_s < 2.0 and backoff_stop_s < 2.0
    assert forever.stats.abandoned == 1 and backing_off.stats.abandoned == 1

    topic = CHECKOUT.named(publisher.topic_prefix)
    committed, _ = await committed_and_end(kafka_bootstrap, f"{unique_name}-backoff", topic)
    assert set(committed.values()) == {-1}, "the record stopped in its backoff was not committed"
    redelivered: list[str] = []

    async def record(event: BuyClicked) -> None:
        redelivered.append(event.event_id)

    completed_before_stop = handled[len(events) :]
    left = {e.event_id for e in [*events, stuck]} - set(completed_before_stop)
    async with running(click_loop(kafka_bootstrap, publisher, f"{unique_name}-stuck", record)):
        await wait_for(lambda: set(redelivered) >= left, what="what the stopped loop left, delivered again")
    print(f"completed before the stop: {completed_before_stop}; delivered again: {redelivered}")
    assert stuck.event_id in redelivered, "the abandoned record was not committed"
    assert sorted(redelivered) == sorted(left), "what was completed was committed at the stop"
