"""A second member joins the group while the first is in the middle of a batch, against the real
broker: the first finishes its record in flight, commits what it completed and hands the
partitions over; every record is handled, committed to the end, none lost, and each member
handles each partition's records in order."""

from __future__ import annotations

import asyncio
from collections import Counter

from consume_support import click_loop, interleaved, out_of_order, positions, running, until_committed_to_end

from buybutton.events import BuyClicked
from buybutton.kafka.consumer import ConsumeLoop
from buybutton.kafka.producer import EventPublisher
from buybutton.topics import CHECKOUT
from devstack.testing import read_all, wait_for

ORDERS = [f"order-{n:02d}" for n in range(24)]
PER_ORDER = 5
WORK_S = 0.05  # each record takes a moment, so that a batch is long enough to be joined mid-way


async def test_a_member_joining_mid_batch_loses_nothing_and_keeps_partition_order(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    events = interleaved(ORDERS, PER_ORDER)
    await publisher.publish_all(events)
    topic = CHECKOUT.named(publisher.topic_prefix)
    where = await positions(kafka_bootstrap, topic)
    handled: dict[str, list[str]] = {"A": [], "B": []}

    def forward_order_as(member: str):  # type: ignore[no-untyped-def]
        async def forward_order(event: BuyClicked) -> None:
            await asyncio.sleep(WORK_S)
            handled[member].append(event.event_id)

        return forward_order

    group = f"{unique_name}-relay"

    def member(name: str) -> ConsumeLoop:
        return click_loop(kafka_bootstrap, publisher, group, forward_order_as(name), batch_size=100)

    first, second = member("A"), member("B")
    async with running(first):
        await wait_for(lambda: len(handled["A"]) >= 10, what="A in the middle of its first batch")
        joined_at = len(handled["A"])
        async with running(second):
            everything = {e.event_id for e in events}
            await wait_for(
                lambda: set(handled["A"]) | set(handled["B"]) >= everything, timeout_s=90, what="every record"
            )
            committed = await until_committed_to_end(kafka_bootstrap, group, topic, timeout_s=60)

    both = Counter(handled["A"]) + Counter(handled["B"])
    duplicates = {event_id: n for event_id, n in both.items() if n > 1}
    in_flight_abandoned = first.hand_over.abandoned_in_flight + second.hand_over.abandoned_in_flight
    pending = first.hand_over.uncommitted_at_revocation + second.hand_over.uncommitted_at_revocation
    print(
        f"records {len(events)} on {len({p for p, _ in where.values()})} partitions; B joined after A had "
        f"handled {joined_at}; handled by A {len(handled['A'])}, by B {len(handled['B'])}; duplicates "
        f"{len(duplicates)} {duplicates or ''}; hand-overs A {first.hand_over.handed_over}, "
        f"B {second.hand_over.handed_over}; partitions handled but uncommitted when revoked "
        f"{pending}; in-flight "
        f"records abandoned {in_flight_abandoned}; lost {len(everything - set(both))}; committed "
        f"{sum(c for c in committed.values() if c > 0)} of {len(events)}"
    )
    assert set(both) == everything, "none lost"
    assert handled["B"], "the second member took partitions over"
    assert first.hand_over.handed_over >= 1
    assert len(duplicates) <= in_flight_abandoned, "a repeat only for a record abandoned in flight"
    assert out_of_order(handled["A"], where) == [] and out_of_order(handled["B"], where) == []
    assert sum(c for c in committed.values() if c > 0) == len(events)
    assert first.stats.dead_lettered == second.stats.dead_lettered == 0
    assert await read_all(kafka_bootstrap, CHECKOUT.dlq_named(publisher.topic_prefix, "merchant-relay")) == []
