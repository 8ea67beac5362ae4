"""The consume loop's rules that need no broker: backoff, bounded attempts, the routing table
(what a group reads, skips and refuses), dead-letter and retry topic names, and the
replication-derived min.insync.replicas."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import pytest

from buybutton.events import BuyClicked, PaymentCaptured, ProductRestocked
from buybutton.events.examples import sample_events
from buybutton.faults import is_transient
from buybutton.kafka.attempt import Abandoned, AttemptTimedOut, attempt
from buybutton.kafka.dead_letters import retry_topic_of
from buybutton.kafka.provision import registry_specs
from buybutton.kafka.retry import RetryPolicy, pause
from buybutton.kafka.routing import RoutingTable, UnroutedVersion
from buybutton.topics import ALL_TOPICS, CHECKOUT, min_insync_replicas


class PaymentCapturedV2(PaymentCaptured):
    """A later version of the event, as a newer producer would publish it."""

    schema_version: Literal[2] = 2  # type: ignore[assignment]


async def record_paid_order(event: PaymentCaptured) -> None:
    return None


async def capture_and_return(event: BuyClicked) -> list[PaymentCaptured]:
    return []


def test_min_insync_replicas_follows_the_replication_factor() -> None:
    assert [min_insync_replicas(rf) for rf in (1, 2, 3, 4, 5)] == [1, 1, 2, 3, 4]
    assert CHECKOUT.configs(3)["min.insync.replicas"] == "2"
    assert {s.configs["min.insync.replicas"] for s in registry_specs(replication_factor=3)} == {"2"}


def test_each_consumer_group_gets_its_own_dead_letter_and_retry_topics() -> None:
    names = {spec.name for spec in registry_specs("t.")}
    for topic in ALL_TOPICS:
        for group in topic.consumed_by:
            assert f"t.{topic.name}.{group}.dlq" in names
            assert f"t.{topic.name}.{group}.retry" in names
    assert "t.checkout.orders.v1.vault-service.dlq" in names
    assert not any(name.endswith(".v1.dlq") for name in names), "no DLQ shared by every group"
    assert (
        retry_topic_of("t.checkout.orders.v1.vault-service.dlq") == "t.checkout.orders.v1.vault-service.retry"
    )
    with pytest.raises(ValueError, match="not a dead-letter topic"):
        retry_topic_of("t.checkout.orders.v1")


def test_backoff_doubles_up_to_its_cap_and_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(first_backoff_s=0.1, max_backoff_s=2.0, jitter=0.2)
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4, 5, 6, 1000)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    spread = [policy.jittered_backoff_s(3) for _ in range(500)]
    assert all(0.32 <= s <= 0.48 for s in spread)
    assert len(set(spread)) > 100, "jitter spreads members that failed together"
    assert max(policy.jittered_backoff_s(50) for _ in range(100)) <= 2.0


def test_the_routing_table_reads_the_groups_topics_and_its_retry_topic() -> None:
    table = RoutingTable.build({PaymentCaptured: record_paid_order}, group="vault-service", topic_prefix="t.")
    assert table.topics == ["t.checkout.orders.v1", "t.checkout.orders.v1.vault-service.retry"]
    assert table.dead_letter_topic("t.checkout.orders.v1.vault-service.retry") == (
        "t.checkout.orders.v1.vault-service.dlq"
    )
    assert table.skips_unread([("event_type", b"BuyClicked"), ("schema_version", b"1")])
    assert not table.skips_unread([("event_type", b"PaymentCaptured"), ("schema_version", b"1")])
    assert not table.skips_unread([]), "without headers the record must be decoded to know"


def test_the_routing_table_refuses_handlers_that_return_events_and_groups_the_registry_lacks() -> None:
    with pytest.raises(TypeError, match="return"):
        RoutingTable.build({BuyClicked: capture_and_return}, group="vault-service")
    with pytest.raises(ValueError, match="consumed_by"):
        RoutingTable.build({ProductRestocked: record_paid_order}, group="vault-service")


def test_a_routed_type_in_a_version_the_group_does_not_route_is_unreadable_to_it() -> None:
    table = RoutingTable.build({PaymentCaptured: record_paid_order}, group="vault-service")
    captured = next(e for e in sample_events() if isinstance(e, PaymentCaptured))
    click = next(e for e in sample_events() if isinstance(e, BuyClicked))
    assert table.handler_for(captured) is record_paid_order
    assert table.handler_for(click) is None
    newer = PaymentCapturedV2.model_validate({**captured.model_dump(), "schema_version": 2})
    with pytest.raises(UnroutedVersion):
        table.handler_for(newer)


async def test_an_attempt_that_hangs_times_out_as_a_transient_failure() -> None:
    hang = asyncio.Event()
    started = time.monotonic()
    with pytest.raises(AttemptTimedOut) as timed_out:
        await attempt(hang.wait, timeout_s=0.2, stopping=asyncio.Event())
    assert 0.2 <= time.monotonic() - started < 1.0
    assert is_transient(timed_out.value)


async def test_stopping_abandons_an_attempt_and_a_backoff_at_once() -> None:
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(0.1, stopping.set)
    started = time.monotonic()
    with pytest.raises(Abandoned):
        await attempt(asyncio.Event().wait, timeout_s=30, stopping=stopping)
    assert time.monotonic() - started < 1.0

    handed_over, stopping = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_later(0.1, stopping.set)
    started = time.monotonic()
    assert await pause(30, stopping, handed_over) is True, "either event ends the backoff"
    assert time.monotonic() - started < 1.0
    assert await pause(0.01, asyncio.Event()) is False
