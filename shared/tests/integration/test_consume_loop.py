"""The consume loop against the real broker: unreadable records and domain errors go to the
group's own DLQ without blocking the partition, a replay reaches that group only, unrouted
types are skipped unread, a handler may not return events, and commits follow success."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiokafka import TopicPartition
from consume_support import click_loop, clicks, running, until_committed_to_end

from buybutton.events import BuyClicked, PaymentRefunded
from buybutton.events.examples import sample_events
from buybutton.kafka.codec import encode, header
from buybutton.kafka.dead_letters import ATTEMPTS, CONSUMER_GROUP, ERROR_CLASS, ERROR_MESSAGE, ORIGINAL_TOPIC
from buybutton.kafka.producer import EventPublisher
from buybutton.kafka.replay import replay_dead_letters
from buybutton.topics import CHECKOUT
from devstack.testing import read_all, read_until, wait_for

RELAY = "merchant-relay"
VAULT = "vault-service"


async def test_a_domain_error_is_dead_lettered_after_the_bounded_attempts_while_later_records_go_on(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    bad, *good = clicks(3)
    attempts: Counter[str] = Counter()
    handled: list[str] = []

    async def forward_order(event: BuyClicked) -> None:
        attempts[event.event_id] += 1
        if event.event_id == bad.event_id:
            raise ValueError("merchant rejected card 4242 4242 4242 4242")
        handled.append(event.event_id)

    await publisher.publish_all([bad, *good])
    group = f"{unique_name}-relay"
    loop = click_loop(kafka_bootstrap, publisher, group, forward_order)
    async with running(loop):
        await wait_for(
            lambda: len(handled) == 2 and loop.stats.dead_lettered == 1, what="dead letter, then the rest"
        )

    assert attempts[bad.event_id] == 3 and loop.stats.domain_retries == 2
    assert handled == [e.event_id for e in good]
    prefix = publisher.topic_prefix
    [dead] = await read_until(kafka_bootstrap, CHECKOUT.dlq_named(prefix, RELAY), lambda rs: len(rs) >= 1)
    print(f"attempts at the bad record: {attempts[bad.event_id]}; later records handled: {len(handled)}")
    assert dead.key == bad.key.encode() and dead.value == encode(bad).value
    assert header(dead.headers, ERROR_CLASS) == "ValueError"
    assert header(dead.headers, ATTEMPTS) == "3"
    assert header(dead.headers, CONSUMER_GROUP) == group
    assert header(dead.headers, ORIGINAL_TOPIC) == CHECKOUT.named(prefix)
    assert header(dead.headers, ERROR_MESSAGE) is None, "a handler's message may hold values"
    assert all(b"4242" not in value for _, value in dead.headers)
    committed = await until_committed_to_end(kafka_bootstrap, group, CHECKOUT.named(prefix))
    assert committed[dead.partition] == 3


async def test_poison_records_go_to_the_groups_dlq_at_once_and_the_partition_moves_on(
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

    async def forward_order(event: BuyClicked) -> None:
        calls.append(event.event_id)

    loop = click_loop(kafka_bootstrap, publisher, f"{unique_name}-relay", forward_order)
    async with running(loop):
        await wait_for(lambda: calls == [good.event_id], what="the good record after the poison")

    dead = await read_until(
        kafka_bootstrap, CHECKOUT.dlq_named(publisher.topic_prefix, RELAY), lambda rs: len(rs) >= len(poison)
    )
    print(
        f"poison records sent: {len(poison)}; dead-lettered: {loop.stats.dead_lettered}; stats {loop.stats}"
    )
    assert loop.stats.dead_lettered == len(poison)
    assert loop.stats.domain_retries == loop.stats.transient_retries == 0, "unreadable is never retried"
    assert [r.value for r in dead] == [value for value, _ in poison]
    assert {header(r.headers, ERROR_CLASS) for r in dead} == {"PoisonRecord"}
    assert all(header(r.headers, ERROR_MESSAGE) for r in dead), "the codec's reason names no values"


async def test_an_unrouted_event_type_is_skipped_unread_not_dead_lettered(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    [good] = clicks(1)
    topic = CHECKOUT.named(publisher.topic_prefix)
    refunded = next(e for e in sample_events() if isinstance(e, PaymentRefunded))
    invalid_body = b'{"refund": "whatever this is", "amount": -1}'
    headers = [("event_type", b"PaymentRefunded"), ("schema_version", b"1")]
    await publisher.publish_raw(topic, key=good.key.encode(), value=invalid_body, headers=headers)
    no_headers = encode(refunded.model_copy(update={"order_id": good.order_id}))
    await publisher.publish_raw(topic, key=good.key.encode(), value=no_headers.value, headers=[])
    await publisher.publish(good)
    calls: list[str] = []

    async def forward_order(event: BuyClicked) -> None:
        calls.append(event.event_id)

    loop = click_loop(kafka_bootstrap, publisher, f"{unique_name}-relay", forward_order)
    async with running(loop):
        await wait_for(lambda: calls == [good.event_id], what="the routed record")
    stats = loop.stats
    print(f"unrouted records: 2; skipped: {stats.skipped_unrouted}; dead-lettered: {stats.dead_lettered}")
    assert loop.stats.skipped_unrouted == 2
    assert loop.stats.dead_lettered == 0
    assert await read_all(kafka_bootstrap, CHECKOUT.dlq_named(publisher.topic_prefix, RELAY)) == []


async def test_a_handler_that_returns_events_is_refused_not_silently_dropped(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    [click] = clicks(1)
    await publisher.publish(click)

    async def capture_payment(event: BuyClicked):  # type: ignore[no-untyped-def]  # undeclared
        return [event]

    handler: Any = capture_payment
    loop = click_loop(kafka_bootstrap, publisher, f"{unique_name}-relay", handler)
    async with running(loop):
        await wait_for(lambda: loop.stats.dead_lettered == 1, what="the refused result dead-lettered")
    [dead] = await read_all(kafka_bootstrap, CHECKOUT.dlq_named(publisher.topic_prefix, RELAY))
    assert header(dead.headers, ERROR_CLASS) == "HandlerReturnedValue"
    assert loop.stats.handled == 0
    published = await read_all(kafka_bootstrap, CHECKOUT.named(publisher.topic_prefix))
    assert [header(r.headers, "event_type") for r in published] == ["BuyClicked"], (
        "the loop published nothing"
    )


async def test_a_replayed_dead_letter_reaches_its_group_only_and_is_handled_once(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    [click] = clicks(1)
    [sentinel] = clicks(1, order_id="order-umbrella-2")
    await publisher.publish(click)
    vault_store_fixed = False
    seen: dict[str, list[str]] = {VAULT: [], RELAY: []}

    async def record_paid_order(event: BuyClicked) -> None:
        if not vault_store_fixed:
            raise KeyError("buyer_id")  # a bug, fixed before the replay
        seen[VAULT].append(event.event_id)

    async def forward_order(event: BuyClicked) -> None:
        seen[RELAY].append(event.event_id)

    vault = click_loop(kafka_bootstrap, publisher, f"{unique_name}-vault", record_paid_order, consumer=VAULT)
    relay = click_loop(kafka_bootstrap, publisher, f"{unique_name}-relay", forward_order, consumer=RELAY)
    prefix = publisher.topic_prefix
    async with running(relay):
        async with running(vault):
            await wait_for(
                lambda: vault.stats.dead_lettered == 1 and seen[RELAY] == [click.event_id], what="both"
            )

        vault_store_fixed = True
        result = await replay_dead_letters(
            kafka_bootstrap, CHECKOUT.dlq_named(prefix, VAULT), group_id=f"{unique_name}-replayer"
        )
        assert result.targets == {CHECKOUT.retry_named(prefix, VAULT): 1}
        restarted = click_loop(
            kafka_bootstrap, publisher, f"{unique_name}-vault", record_paid_order, consumer=VAULT
        )
        async with running(restarted):
            await wait_for(lambda: seen[VAULT] == [click.event_id], what="the replay handled by the vault")
        await publisher.publish(sentinel)
        await wait_for(lambda: sentinel.event_id in seen[RELAY], what="the relay still consuming")
        again = await replay_dead_letters(
            kafka_bootstrap, CHECKOUT.dlq_named(prefix, VAULT), group_id=f"{unique_name}-replayer"
        )

    print(f"handled: {seen}; replayed: {result.replayed}, then {again.replayed}")
    assert seen[VAULT] == [click.event_id], "handled once, from the retry topic"
    assert seen[RELAY] == [click.event_id, sentinel.event_id], "the other group never saw it twice"
    assert again.replayed == 0, "a dead letter is replayed once"
    assert await read_all(kafka_bootstrap, CHECKOUT.retry_named(prefix, RELAY)) == []
    [retried] = await read_all(kafka_bootstrap, CHECKOUT.retry_named(prefix, VAULT))
    assert header(retried.headers, "dlq.replayed_from") == CHECKOUT.dlq_named(prefix, VAULT)
    assert header(retried.headers, ERROR_CLASS) is None


async def test_a_batch_that_fails_to_commit_is_handled_again_not_skipped(
    kafka_bootstrap: str, publisher: EventPublisher, unique_name: str
) -> None:
    first, second = clicks(2)
    await publisher.publish_all([first, second])
    seen: list[str] = []

    async def forward_order(event: BuyClicked) -> None:
        seen.append(event.event_id)

    group = f"{unique_name}-relay"
    loop = click_loop(kafka_bootstrap, publisher, group, forward_order)
    real_commit = loop.consumer.commit
    refusals = 0

    async def commit_refused_once(offsets: dict[TopicPartition, int]) -> None:
        nonlocal refusals
        if refusals == 0:
            refusals += 1
            raise ConnectionError("broker went away")
        await real_commit(offsets)

    loop.consumer.commit = commit_refused_once  # type: ignore[method-assign,assignment]
    async with running(loop):
        await wait_for(
            lambda: seen.count(first.event_id) == 2 and seen.count(second.event_id) == 2,
            what="the uncommitted batch handled again",
        )
        committed = await until_committed_to_end(
            kafka_bootstrap, group, CHECKOUT.named(publisher.topic_prefix)
        )
    print(f"commit refusals injected: {refusals}; handlings: {Counter(seen)}")
    assert [c for c in committed.values() if c != -1] == [2], "both records committed once handled again"
