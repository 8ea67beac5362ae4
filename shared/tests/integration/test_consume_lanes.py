"""The consume loop with lanes, against the real broker: one order in a 5 s transient outage
while ten others keep arriving, one order whose handler takes 1 s a record, a second member
joining mid-way (and while a lane waits out a 30 s backoff), and one order holding its
partition until the uncommitted span pauses it. The other orders go on meanwhile; every order's
records are handled in the order produced; nothing is dead-lettered or lost, and everything is
committed in the end."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from aiokafka.partitioner import DefaultPartitioner
from consume_support import (
    click_loop,
    clicks,
    interleaved,
    out_of_key_order,
    running,
    until_committed_to_end,
)
from pymongo.errors import AutoReconnect

from buybutton.events import BuyClicked
from buybutton.kafka.consumer import ConsumeLoop, RetryPolicy
from buybutton.kafka.producer import EventPublisher
from buybutton.topics import CHECKOUT
from devstack.testing import read_all, wait_for

RELAY = "merchant-relay"
OUTAGE_S = 5.0
SLOW_S = 1.0
FLOWING = [f"order-flowing-{n:02d}" for n in range(10)]
STUCK = "order-stuck"


async def test_one_order_in_an_outage_holds_only_its_own_lane(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    stuck = clicks(6, STUCK)
    flowing = interleaved(FLOWING, 8)
    await publisher.publish_all([stuck[0], *flowing[:10]])
    outage_ends: float | None = None
    injected = 0
    handled: list[tuple[float, str]] = []

    async def forward_order(event: BuyClicked) -> None:
        nonlocal outage_ends, injected
        if event.order_id == STUCK:
            outage_ends = outage_ends or time.monotonic() + OUTAGE_S
            if time.monotonic() < outage_ends:
                injected += 1
                raise AutoReconnect("the order store of this order's shard is away")
        handled.append((time.monotonic(), event.event_id))

    group = f"{unique_name}-relay"
    retry = RetryPolicy(first_backoff_s=0.05, max_backoff_s=0.5, report_after_s=2.0)
    loop = click_loop(kafka_bootstrap, publisher, group, forward_order, retry=retry, lanes=8)
    problems: list[tuple[float, str | None]] = []

    async def watch_health() -> None:
        while True:
            problems.append((time.monotonic(), loop.problem()))
            await asyncio.sleep(0.1)

    async with running(loop):
        watching = asyncio.create_task(watch_health())
        await wait_for(lambda: outage_ends is not None, what="the stuck order's first attempt")
        assert outage_ends is not None
        later = [*stuck[1:], *flowing[10:]]
        for event in later:  # both the stuck order and the others keep arriving during the outage
            await publisher.publish(event)
            await asyncio.sleep((OUTAGE_S - 2.0) / len(later))
        everything = [e.event_id for e in [*stuck, *flowing]]
        await wait_for(lambda: {e for _, e in handled} >= set(everything), timeout_s=60, what="everything")
        await until_committed_to_end(kafka_bootstrap, group, CHECKOUT.named(publisher.topic_prefix))
        await wait_for(lambda: problems[-1][1] is None, what="the health problem cleared")
        watching.cancel()

    order = [e for _, e in handled]
    flowing_ids = {e.event_id for e in flowing}
    during = [e for at, e in handled if at < outage_ends and e in flowing_ids]
    stuck_handled = [(at, e) for at, e in handled if e.startswith(STUCK + ".")]
    dead = await read_all(kafka_bootstrap, CHECKOUT.dlq_named(publisher.topic_prefix, RELAY))
    reported = [text for _, text in problems if text]
    repeats = {e: n for e, n in Counter(order).items() if n > 1}
    disorder = out_of_key_order(order, [*stuck, *flowing])
    print(
        f"lanes 8, outage {OUTAGE_S:.0f} s on {STUCK}: {injected} failures injected; produced "
        f"{len(everything)} ({len(stuck)} stuck, {len(flowing)} of {len(FLOWING)} other orders); other "
        f"orders' records handled during the outage {len(during)} of {len(flowing)}; stuck handled after "
        f"it cleared {len(stuck_handled)}; lost {len(set(everything) - set(order))}, repeated "
        f"{len(repeats)}, dead-lettered {len(dead)}, out of order {len(disorder)}"
        f"; health reported {len(reported)} times, first {reported[0] if reported else None!r}; {loop.stats}"
    )
    assert injected > 0 and loop.stats.transient_retries == injected
    assert sorted(during) == sorted(flowing_ids), "every other order's record handled during the outage"
    assert [e for _, e in stuck_handled] == [e.event_id for e in stuck]
    assert all(at >= outage_ends for at, _ in stuck_handled), "the stuck order only after it cleared"
    assert disorder == []
    assert set(order) == set(everything) and not repeats
    assert loop.stats.dead_lettered == 0 and dead == []
    assert reported and "AutoReconnect" in reported[0]


async def test_a_slow_order_does_not_slow_the_others(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    slow = clicks(4, "order-slow")
    others = interleaved(FLOWING, 5)
    produced = [*slow, *others]
    await publisher.publish_all(produced)

    async def measure(lanes: int) -> tuple[float, float, int]:
        """(seconds until every other order's record was handled, until the slow ones were, how
        many slow ones were handled when the others were done)"""
        handled: list[str] = []

        async def forward_order(event: BuyClicked) -> None:
            if event.order_id == "order-slow":
                await asyncio.sleep(SLOW_S)  # a slow Stripe call
            handled.append(event.event_id)

        loop = click_loop(kafka_bootstrap, publisher, f"{unique_name}-{lanes}", forward_order, lanes=lanes)
        await loop.start()
        await wait_for(lambda: bool(loop.consumer.assignment()), what="partitions assigned")
        started = time.monotonic()
        runner = asyncio.create_task(loop.run())
        other_ids = {e.event_id for e in others}
        await wait_for(lambda: set(handled) >= other_ids, timeout_s=60, what="the other orders")
        others_s = time.monotonic() - started
        slow_when_others_done = sum(1 for e in handled if e.startswith("order-slow."))
        await wait_for(lambda: len(handled) == len(produced), timeout_s=60, what="the slow order")
        slow_s = time.monotonic() - started
        await loop.stop()
        await runner
        assert out_of_key_order(handled, produced) == []
        assert loop.stats.dead_lettered == 0 and len(handled) == len(produced)
        return others_s, slow_s, slow_when_others_done

    laned = await measure(8)
    serial = await measure(1)
    print(
        f"{len(slow)} records of one order at {SLOW_S:.0f} s each, {len(others)} of {len(FLOWING)} "
        f"other orders: lanes 8: others done after {laned[0]:.2f} s (slow order {laned[2]} of "
        f"{len(slow)} done then), slow order after {laned[1]:.2f} s; lanes 1: others after "
        f"{serial[0]:.2f} s, slow after {serial[1]:.2f} s"
    )
    assert laned[0] < SLOW_S * 2 and laned[2] < len(slow), "the others finished while the slow one worked"
    assert laned[1] >= SLOW_S * len(slow), "the slow order's records one after another"
    assert serial[0] > laned[0]


async def test_a_member_joining_hands_over_lanes_without_starting_a_revoked_record(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    orders = [f"order-{n:02d}" for n in range(24)]
    events = interleaved(orders, 5)
    await publisher.publish_all(events)
    handled: dict[str, list[str]] = {"A": [], "B": []}
    started_while_revoking = 0
    loops: dict[str, ConsumeLoop] = {}

    def forward_order_as(member: str):  # type: ignore[no-untyped-def]
        async def forward_order(event: BuyClicked) -> None:
            nonlocal started_while_revoking
            lanes = loops[member].lanes
            assert lanes is not None
            started_while_revoking += lanes.revoking.is_set()
            await asyncio.sleep(0.3)  # long enough for B to join before A is through
            handled[member].append(event.event_id)

        return forward_order

    group = f"{unique_name}-relay"
    for name in handled:
        loops[name] = click_loop(kafka_bootstrap, publisher, group, forward_order_as(name), lanes=4)
    first, second = loops["A"], loops["B"]
    async with running(first):
        await wait_for(lambda: len(handled["A"]) >= 10, what="A under way")
        async with running(second):
            everything = {e.event_id for e in events}
            await wait_for(
                lambda: set(handled["A"]) | set(handled["B"]) >= everything, timeout_s=90, what="every record"
            )
            topic = CHECKOUT.named(publisher.topic_prefix)
            committed = await until_committed_to_end(kafka_bootstrap, group, topic, timeout_s=60)

    both = Counter(handled["A"]) + Counter(handled["B"])
    repeats = sum(n - 1 for n in both.values())
    print(
        f"records {len(events)}; handled by A {len(handled['A'])}, by B {len(handled['B'])}; hand-overs "
        f"A {first.hand_over.handed_over}, B {second.hand_over.handed_over}; handlers started while "
        f"revoking {started_while_revoking}; redelivered (settled beyond a watermark) {repeats}; lost "
        f"{len(everything - set(both))}; committed {sum(c for c in committed.values() if c > 0)}"
    )
    assert set(both) == everything and handled["B"]
    assert started_while_revoking == 0, "no record started once its partition was being revoked"
    assert out_of_key_order(handled["A"], events) == [] and out_of_key_order(handled["B"], events) == []
    assert sum(c for c in committed.values() if c > 0) == len(events)
    assert first.stats.dead_lettered == second.stats.dead_lettered == 0


async def test_a_hand_over_wakes_a_lane_waiting_out_a_long_backoff(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    stuck = clicks(3, STUCK)
    flowing = interleaved(FLOWING, 3)
    await publisher.publish_all([*stuck, *flowing])
    failures = 0
    handled: dict[str, list[str]] = {"A": [], "B": []}

    async def forward_order_while_the_stuck_store_is_away(event: BuyClicked) -> None:
        nonlocal failures
        if event.order_id == STUCK:
            failures += 1
            raise AutoReconnect("the order store of this order's shard is away")
        handled["A"].append(event.event_id)

    async def forward_order(event: BuyClicked) -> None:
        handled["B"].append(event.event_id)

    group = f"{unique_name}-relay"
    backing_off = RetryPolicy(first_backoff_s=30, max_backoff_s=30)
    first = click_loop(
        kafka_bootstrap,
        publisher,
        group,
        forward_order_while_the_stuck_store_is_away,
        retry=backing_off,
        lanes=4,
    )
    second = click_loop(kafka_bootstrap, publisher, group, forward_order, lanes=4)
    assert first.lanes is not None
    revoking = first.lanes.revoking
    await first.start()
    runner = asyncio.create_task(first.run())
    flowing_ids = {e.event_id for e in flowing}
    await wait_for(lambda: failures == 1 and set(handled["A"]) >= flowing_ids, what="A backing off")
    began = time.monotonic()
    async with running(second):
        await wait_for(
            lambda: first.hand_over.handed_over == 1 and not revoking.is_set(), what="A's hand-over done"
        )
        hand_over_s = time.monotonic() - began
        abandoned_at_hand_over = first.stats.abandoned
        await first.stop()  # B takes every partition, the stuck order's included
        await runner
        stuck_ids = [e.event_id for e in stuck]
        await wait_for(lambda: set(handled["B"]) >= set(stuck_ids), timeout_s=60, what="the stuck order")
        await until_committed_to_end(kafka_bootstrap, group, CHECKOUT.named(publisher.topic_prefix))

    print(
        f"A failed once, backing off 30 s; B joined, A handed over within {hand_over_s:.2f} s; abandoned "
        f"then {abandoned_at_hand_over}, cancelled in flight {first.hand_over.abandoned_in_flight}; "
        f"stuck order handled by A {sum(e in stuck_ids for e in handled['A'])}, by B "
        f"{sum(e in stuck_ids for e in handled['B'])}"
    )
    assert hand_over_s < 8.0, "woken, not waiting out the 30 s backoff or the 10 s grace"
    assert abandoned_at_hand_over == 1 and first.hand_over.abandoned_in_flight == 0
    assert not set(handled["A"]) & set(stuck_ids)
    assert out_of_key_order(handled["B"], stuck) == []


def neighbours_of(key: str, count: int) -> list[str]:
    """``count`` order ids on the same partition of the orders topic as ``key``."""
    partitions = list(range(CHECKOUT.partitions))
    partition_of = DefaultPartitioner()
    home = partition_of(key.encode(), partitions, partitions)
    candidates = (f"order-neighbour-{n:03d}" for n in range(1000))
    return [c for c in candidates if partition_of(c.encode(), partitions, partitions) == home][:count]


async def test_a_partition_held_by_one_order_is_paused_once_its_uncommitted_span_is_full(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    stuck = clicks(3, STUCK)
    neighbours = interleaved(neighbours_of(STUCK, 6), 10)
    await publisher.publish_all([*stuck, *neighbours])
    outage_ends: float | None = None
    handled: list[tuple[float, str]] = []

    async def forward_order(event: BuyClicked) -> None:
        nonlocal outage_ends
        if event.order_id == STUCK:
            outage_ends = outage_ends or time.monotonic() + 4.0
            if time.monotonic() < outage_ends:
                raise AutoReconnect("the order store of this order's shard is away")
        handled.append((time.monotonic(), event.event_id))

    batch_size = 5  # so at most 5 records queued unsettled, and a span of 50 pauses a partition
    loop = click_loop(
        kafka_bootstrap,
        publisher,
        f"{unique_name}-relay",
        forward_order,
        batch_size=batch_size,
        lanes=8,
        retry=RetryPolicy(first_backoff_s=0.05, max_backoff_s=0.5),
    )
    assert loop.lanes is not None
    lanes = loop.lanes
    paused_seen = max_in_flight = 0

    async def watch() -> None:
        nonlocal paused_seen, max_in_flight
        while True:
            paused_seen += bool(lanes.paused)
            max_in_flight = max(max_in_flight, lanes.in_flight)
            await asyncio.sleep(0.05)

    async with running(loop):
        watching = asyncio.create_task(watch())
        everything = {e.event_id for e in [*stuck, *neighbours]}
        await wait_for(lambda: {e for _, e in handled} >= everything, timeout_s=60, what="everything")
        await until_committed_to_end(kafka_bootstrap, loop.group_id, CHECKOUT.named(publisher.topic_prefix))
        await wait_for(lambda: not lanes.paused, what="the partition resumed")
        watching.cancel()

    assert outage_ends is not None
    during = [e for at, e in handled if at < outage_ends]
    order = [e for _, e in handled]
    print(
        f"one partition: {len(stuck)} records of {STUCK} (4 s outage), {len(neighbours)} of 6 neighbours; "
        f"neighbours handled during the outage {len(during)}; paused in {paused_seen} samples; "
        f"most queued unsettled {max_in_flight} (limit {batch_size}); handled {len(set(order))}, repeated "
        f"{len(order) - len(set(order))}, dead-lettered {loop.stats.dead_lettered}"
    )
    assert paused_seen > 0, "the partition was paused while its span was full"
    assert 40 <= len(during) < len(neighbours), "neighbours went on, up to the span of 50, then held"
    assert max_in_flight <= batch_size
    assert out_of_key_order(order, [*stuck, *neighbours]) == [] and len(order) == len(everything)
    assert loop.stats.dead_lettered == 0
