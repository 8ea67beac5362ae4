"""A service's local replica of the compacted rollout topic catches up at start and follows
every change within a bounded time."""

from __future__ import annotations

import asyncio

from aiokafka.structs import ConsumerRecord

from buybutton.events import RolloutChanged
from buybutton.events.examples import sample_events
from buybutton.kafka.codec import encode
from buybutton.kafka.producer import EventPublisher
from buybutton.rollout_replica import RulesReplica
from devstack.testing import wait_for


async def test_replica_catches_up_then_follows_changes(kafka_bootstrap: str, registry_topics: str) -> None:
    rule = next(e for e in sample_events() if isinstance(e, RolloutChanged))
    publisher = await EventPublisher.start(
        kafka_bootstrap, client_id="rollout-test", topic_prefix=registry_topics
    )
    replica = RulesReplica(kafka_bootstrap, client_id="tweet-service-test", topic_prefix=registry_topics)
    stop = asyncio.Event()
    try:
        await publisher.publish(rule.model_copy(update={"percentage_bps": 1_000}))
        await replica.start()
        follow = asyncio.create_task(replica.run(stop))
        await asyncio.wait_for(replica.caught_up.wait(), 30)
        current = replica.rules("buy-button")
        assert current is not None and current.percentage_bps == 1_000
        assert replica.rules("another-gate") is None

        await publisher.publish(rule.model_copy(update={"event_id": "raise-to-20", "percentage_bps": 2_000}))
        await wait_for(
            lambda: (r := replica.rules("buy-button")) is not None and r.percentage_bps == 2_000,
            timeout_s=10,
            what="the 20 % rule reaching the replica",
        )
        await publisher.publish(rule.model_copy(update={"event_id": "kill", "kill_switch": True}))
        await wait_for(
            lambda: (r := replica.rules("buy-button")) is not None and r.kill_switch,
            timeout_s=10,
            what="the kill switch reaching the replica",
        )
    finally:
        stop.set()
        if "follow" in locals():
            await follow
        await replica.stop()
        await publisher.stop()


async def test_rules_stay_unknown_until_caught_up_and_a_failing_listener_stops_nothing(
    kafka_bootstrap: str,
) -> None:
    """A partial replay could miss a later kill switch: until the replica has read to the end it
    found at start, the gate fails closed. A listener that raises is logged, not fatal."""
    rule = next(e for e in sample_events() if isinstance(e, RolloutChanged))
    replica = RulesReplica(kafka_bootstrap, client_id="tweet-service-test")
    heard: list[str] = []

    def broken(_: RolloutChanged) -> None:
        raise RuntimeError("a listener's bug")

    replica.listeners += [broken, lambda event: heard.append(event.event_id)]
    encoded = encode(rule)
    replica._apply(
        ConsumerRecord("rules", 0, 0, 0, 0, b"buy-button", encoded.value, None, 0, 0, encoded.headers)
    )
    assert replica.rules("buy-button") is None and replica.event("buy-button") is None
    assert heard == [rule.event_id], "the listener after the broken one still heard the change"
    replica.caught_up.set()
    current = replica.rules("buy-button")
    assert current is not None and current.percentage_bps == rule.percentage_bps
    assert replica.event("buy-button") == rule


async def test_a_tombstone_or_unreadable_record_removes_the_rule_in_fresh_and_running_replicas(
    kafka_bootstrap: str, registry_topics: str
) -> None:
    """The newest record of a rule decides: a tombstone or a record no reader can parse means
    no rule (the gate fails closed), whether the replica was running or replays from the start.
    A repeat of an older record never takes a newer rule back."""
    rule = next(e for e in sample_events() if isinstance(e, RolloutChanged))
    publisher = await EventPublisher.start(
        kafka_bootstrap, client_id="rollout-test", topic_prefix=registry_topics
    )
    running = RulesReplica(kafka_bootstrap, client_id="running-replica", topic_prefix=registry_topics)
    topic = publisher.topic_name(rule)
    stop = asyncio.Event()
    follow = None
    try:
        await running.start()
        follow = asyncio.create_task(running.run(stop))
        first = rule.model_copy(update={"event_id": "first", "sequence": 1, "percentage_bps": 1_000})
        second = rule.model_copy(update={"event_id": "second", "sequence": 2, "percentage_bps": 2_000})
        for event in (first, second, first):  # the repeat of the first is older than the second
            await publisher.publish(event)
        await wait_for(
            lambda: running.event("buy-button") is not None and running.applied >= 2,
            timeout_s=10,
            what="both rules reaching the running replica",
        )
        await publisher.publish_raw(topic, key=b"marker", value=None, headers=[])  # reads past the repeat
        await wait_for(lambda: running.rules("buy-button") is not None, timeout_s=10, what="the rule")
        current = running.rules("buy-button")
        assert current is not None and current.percentage_bps == 2_000, "an older repeat took the rule back"

        for value in (None, b"{not json"):
            await publisher.publish(second.model_copy(update={"event_id": f"back-{value!r}", "sequence": 3}))
            await wait_for(lambda: running.rules("buy-button") is not None, timeout_s=10, what="rule back")
            await publisher.publish_raw(topic, key=b"buy-button", value=value, headers=[])
            await wait_for(
                lambda: running.rules("buy-button") is None,
                timeout_s=10,
                what="the running replica forgetting",
            )
            fresh = RulesReplica(kafka_bootstrap, client_id="fresh-replica", topic_prefix=registry_topics)
            await fresh.start()
            fresh_stop = asyncio.Event()
            replay = asyncio.create_task(fresh.run(fresh_stop))
            try:
                await asyncio.wait_for(fresh.caught_up.wait(), 10)
                assert fresh.rules("buy-button") is None, f"a fresh replica kept the rule after {value!r}"
            finally:
                fresh_stop.set()
                await replay
                await fresh.stop()
    finally:
        stop.set()
        if follow is not None:
            await follow
        await running.stop()
        await publisher.stop()
