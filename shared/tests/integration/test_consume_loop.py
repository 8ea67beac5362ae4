"""The consume loop against the real broker: retries then dead letters without blocking the
partition, poison records, publishing what handlers return, and commits only after success."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from buybutton.events import BuyClicked, Event, PaymentCaptured
from buybutton.events.examples import sample_events
from buybutton.kafka.codec import header
from buybutton.kafka.consumer import ConsumeLoop, Handler, RetryPolicy
from buybutton.kafka.dead_letters import ATTEMPTS, ERROR_CLASS, ERROR_MESSAGE
from buybutton.kafka.producer import EventPublisher
from buybutton.topics import CHECKOUT
from devstack.testing import read_until, wait_for

FAST_RETRY = RetryPolicy(attempts=3, first_backoff_s=0.01, max_backoff_s=0.05)


def clicks(count: int) -> list[BuyClicked]:
    """``count`` distinct BuyClicked events for the same order (same key, same partition)."""
    template = next(e for e in sample_events() if isinstance(e, BuyClicked))
    return [template.model_copy(update={"event_id": f"click-{n}-{template.event_id}"}) for n in range(count)]


@pytest.fixture
async def publisher(kafka_bootstrap: str, registry_topics: str) -> AsyncIterator[EventPublisher]:
    publisher = await EventPublisher.start(
        kafka_bootstrap, client_id="test-publisher", topic_prefix=registry_topics
    )
    try:
        yield publisher
    finally:
        await publisher.stop()


def checkout_loop(
    bootstrap: str, publisher: EventPublisher, group: str, handler: Handler, retry: RetryPolicy = FAST_RETRY
) -> ConsumeLoop:
    """A consume loop routing BuyClicked to ``handler``, as checkout-service would run it."""
    return ConsumeLoop(
        bootstrap_servers=bootstrap,
        group_id=group,
        routes={BuyClicked: handler},
        publisher=publisher,
        retry=retry,
    )


async def run_until(loop: ConsumeLoop, condition: object, timeout_s: float = 30.0) -> None:
    await loop.start()
    try:

        async def pump() -> None:
            while not condition():  # type: ignore[operator]
                await loop.poll_once(timeout_ms=200)

        await asyncio.wait_for(pump(), timeout_s)
    finally:
        await loop.stop()


async def committed_offset(bootstrap: str, group: str, tp: TopicPartition) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        return await consumer.committed(tp)
    finally:
        await consumer.stop()


async def test_failing_record_is_retried_then_dead_lettered_while_later_ones_are_handled(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    bad, *good = clicks(3)
    attempts: Counter[str] = Counter()
    handled: list[str] = []

    async def hold_stock(event: BuyClicked) -> list[Event]:
        attempts[event.event_id] += 1
        if event.event_id == bad.event_id:
            raise RuntimeError("stock store unavailable for card 4242 4242 4242 4242")
        handled.append(event.event_id)
        return []

    await publisher.publish_all([bad, *good])
    group = f"{unique_name}-checkout"
    loop = checkout_loop(kafka_bootstrap, publisher, group, hold_stock)
    await run_until(loop, lambda: len(handled) == 2 and loop.stats.dead_lettered == 1)

    assert attempts[bad.event_id] == 3
    assert handled == [e.event_id for e in good]
    assert loop.stats.retries == 2

    dlq = CHECKOUT.dlq_named(publisher.topic_prefix)
    [dead] = await read_until(kafka_bootstrap, dlq, lambda rs: len(rs) >= 1)
    assert dead.key == bad.key.encode()
    assert header(dead.headers, ERROR_CLASS) == "RuntimeError"
    assert header(dead.headers, ATTEMPTS) == "3"
    message = header(dead.headers, ERROR_MESSAGE) or ""
    assert "stock store unavailable" in message and "4242" not in message

    partition = dead.partition  # the dead letter keeps the original partition's key
    tp = TopicPartition(CHECKOUT.named(publisher.topic_prefix), partition)
    assert await committed_offset(kafka_bootstrap, group, tp) == 3


async def test_poison_records_go_to_the_dlq_at_once_and_the_partition_moves_on(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    [good] = clicks(1)
    topic = CHECKOUT.named(publisher.topic_prefix)
    key = good.key.encode()
    poison = [
        (b"this is not json", []),
        (b'{"event_type": "BuyClicked", "schema_version": 1, "order_id": "x"}', []),
        (good.model_dump_json().encode(), [("event_type", b"BuyClicked"), ("schema_version", b"99")]),
        (b"[1, 2, 3]", []),
    ]
    for value, headers in poison:
        await publisher.publish_raw(topic, key=key, value=value, headers=headers)
    await publisher.publish(good)

    calls: list[str] = []

    async def hold_stock(event: BuyClicked) -> list[Event]:
        calls.append(event.event_id)
        return []

    loop = checkout_loop(kafka_bootstrap, publisher, f"{unique_name}-checkout", hold_stock)
    await run_until(loop, lambda: calls == [good.event_id])

    assert loop.stats.dead_lettered == len(poison)
    assert loop.stats.retries == 0, "an unreadable record is never retried"
    dead = await read_until(
        kafka_bootstrap, CHECKOUT.dlq_named(publisher.topic_prefix), lambda rs: len(rs) >= len(poison)
    )
    assert [r.value for r in dead] == [value for value, _ in poison]
    assert {header(r.headers, ERROR_CLASS) for r in dead} == {"PoisonRecord"}


async def test_events_a_handler_returns_are_published_with_causation(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    [click] = clicks(1)
    await publisher.publish(click)

    async def capture_payment(event: BuyClicked) -> list[Event]:
        return [
            PaymentCaptured.caused_by(
                event,
                order_id=event.order_id,
                producer="checkout-service",
                merchant_id=event.merchant_id,
                buyer_id=event.buyer_id,
                amount=event.amount,
                platform_fee=event.amount.fee(250),
                fee_bps=250,
                payment_reference="pi_test_1",
            )
        ]

    loop = checkout_loop(
        kafka_bootstrap, publisher, f"{unique_name}-checkout", capture_payment, retry=RetryPolicy()
    )
    await run_until(loop, lambda: loop.stats.handled == 1)

    from buybutton.kafka.codec import decode

    records = await read_until(
        kafka_bootstrap,
        CHECKOUT.named(publisher.topic_prefix),
        lambda rs: any(header(r.headers, "event_type") == "PaymentCaptured" for r in rs),
    )
    captured = [decode(r.value, r.headers) for r in records]
    assert isinstance(captured[-1], PaymentCaptured)
    assert captured[-1].causation_id == click.event_id
    assert captured[-1].platform_fee.amount_minor == 125  # 4999 * 2.5% = 124.975, half-up


async def test_replayed_dead_letter_is_handled_once_fixed(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    from buybutton.kafka.replay import replay_dead_letters

    [click] = clicks(1)
    await publisher.publish(click)
    catalogue_up = False
    handled: list[str] = []

    async def hold_stock(event: BuyClicked) -> list[Event]:
        if not catalogue_up:
            raise ConnectionError("catalogue down")
        handled.append(event.event_id)
        return []

    group = f"{unique_name}-checkout"
    first = checkout_loop(kafka_bootstrap, publisher, group, hold_stock)
    await run_until(first, lambda: first.stats.dead_lettered == 1)

    catalogue_up = True
    dlq = CHECKOUT.dlq_named(publisher.topic_prefix)
    replayer = f"{unique_name}-replayer"
    result = await replay_dead_letters(kafka_bootstrap, dlq, group_id=replayer)
    assert result.replayed == 1
    assert result.targets == {CHECKOUT.named(publisher.topic_prefix): 1}

    second = checkout_loop(kafka_bootstrap, publisher, group, hold_stock)
    await run_until(second, lambda: handled == [click.event_id])

    again = await replay_dead_letters(kafka_bootstrap, dlq, group_id=replayer)
    assert again.replayed == 0, "a dead letter is replayed once"
    await wait_for(lambda: second.stats.handled == 1, what="one handling")


async def test_a_batch_that_fails_to_commit_is_handled_again_not_skipped(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    first, second = clicks(2)
    await publisher.publish_all([first, second])
    seen: list[str] = []

    async def hold_stock(event: BuyClicked) -> list[Event]:
        seen.append(event.event_id)
        return []

    group = f"{unique_name}-checkout"
    loop = checkout_loop(kafka_bootstrap, publisher, group, hold_stock)
    real_commit = loop.consumer.commit
    refusals = 0

    async def commit_refused_once(*args: object, **kwargs: object) -> None:
        nonlocal refusals
        if refusals == 0:
            refusals += 1
            raise ConnectionError("broker went away")
        await real_commit(*args, **kwargs)  # type: ignore[arg-type]

    loop.consumer.commit = commit_refused_once  # type: ignore[method-assign]
    await loop.start()
    stop = asyncio.Event()
    running = asyncio.create_task(loop.run(stop))
    try:
        await wait_for(
            lambda: seen.count(first.event_id) == 2 and seen.count(second.event_id) == 2,
            what="the uncommitted batch handled again",
        )
    finally:
        stop.set()
        await running
        await loop.stop()
    topic = CHECKOUT.named(publisher.topic_prefix)
    committed = [
        await committed_offset(kafka_bootstrap, group, TopicPartition(topic, p))
        for p in range(CHECKOUT.partitions)
    ]
    assert [c for c in committed if c is not None] == [2], "both records committed once handled again"
