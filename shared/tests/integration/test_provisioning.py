"""Provisioning from the registry creates every topic with each consumer group's dead-letter and
retry topics, is idempotent, repairs drifted configs without dropping configs set by hand,
derives min.insync.replicas from the replication factor, and adds partitions to a keyed topic
only as a declared migration."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from buybutton.kafka.provision import RepartitionRefused, provision, registry_specs, until_visible
from buybutton.kafka.topic_configs import alter_topic_configs, dynamic_topic_configs, topic_configs
from buybutton.topics import ALL_TOPICS, CHECKOUT, ROLLOUT


async def config_becomes(admin: AIOKafkaAdminClient, topic: str, key: str, value: str) -> None:
    deadline = time.monotonic() + 15
    while (await topic_configs(admin, topic)).get(key) != value:
        assert time.monotonic() < deadline, f"{topic} {key} never became {value}"
        await asyncio.sleep(0.05)


async def test_provision_creates_then_changes_nothing_then_repairs_drift(
    kafka_admin: AIOKafkaAdminClient, topic_prefix: str
) -> None:
    specs = registry_specs(topic_prefix)
    try:
        first = await provision(kafka_admin, specs)
        assert Counter(r.outcome for r in first) == {"created": len(specs)}
        expected_names = {t.named(topic_prefix) for t in ALL_TOPICS} | {
            name
            for t in ALL_TOPICS
            for group in t.consumed_by
            for name in (t.dlq_named(topic_prefix, group), t.retry_named(topic_prefix, group))
        }
        assert {r.name for r in first} == expected_names
        assert expected_names <= set(await kafka_admin.list_topics())

        rollout = await topic_configs(kafka_admin, ROLLOUT.named(topic_prefix))
        assert rollout["cleanup.policy"] == "compact"
        assert rollout["min.insync.replicas"] == "1", "replication factor 1 -> 1"
        [described] = await kafka_admin.describe_topics([CHECKOUT.named(topic_prefix)])
        assert len(described["partitions"]) == CHECKOUT.partitions

        second = await provision(kafka_admin, specs)
        assert {r.outcome for r in second} == {"unchanged"}

        drifted = CHECKOUT.named(topic_prefix)
        await alter_topic_configs(kafka_admin, drifted, {**CHECKOUT.configs(), "retention.ms": "3600000"})
        await config_becomes(kafka_admin, drifted, "retention.ms", "3600000")
        dry = await provision(kafka_admin, specs, dry_run=True)
        assert [r.name for r in dry if r.outcome == "changed"] == [drifted]
        assert (await topic_configs(kafka_admin, drifted))["retention.ms"] == "3600000"

        repaired = await provision(kafka_admin, specs)
        [change] = [r for r in repaired if r.outcome == "changed"]
        assert change.name == drifted and "retention.ms 3600000 -> -1" in change.details
        await config_becomes(kafka_admin, drifted, "retention.ms", "-1")
    finally:
        await kafka_admin.delete_topics([s.name for s in specs])


async def test_a_config_change_keeps_what_an_operator_set_by_hand_and_min_insync_follows_replicas(
    kafka_admin: AIOKafkaAdminClient, topic_prefix: str
) -> None:
    [spec] = [s for s in registry_specs(topic_prefix) if s.name == CHECKOUT.named(topic_prefix)]
    await provision(kafka_admin, [spec])
    try:
        by_hand = {"max.message.bytes": "200000", "retention.ms": "3600000", "min.insync.replicas": "2"}
        await alter_topic_configs(kafka_admin, spec.name, {**spec.configs, **by_hand})
        await config_becomes(kafka_admin, spec.name, "max.message.bytes", "200000")

        [declared_rf3] = registry_specs(topic_prefix, [CHECKOUT], replication_factor=3)[:1]
        assert declared_rf3.configs["min.insync.replicas"] == "2"
        [report] = await provision(kafka_admin, [declared_rf3])
        print(f"report: {report.outcome}: {report.details}")
        assert report.outcome == "changed"
        assert "replication factor 1, declared 3 (left as is)" in report.details
        await config_becomes(kafka_admin, spec.name, "retention.ms", str(CHECKOUT.retention_ms))
        kept = await dynamic_topic_configs(kafka_admin, spec.name)
        print(f"configs set on the topic after provisioning: {kept}")
        assert kept["max.message.bytes"] == "200000", "a config outside the registry survives"
        assert kept["min.insync.replicas"] == "1", "follows the topic's one replica, not the declared three"
        assert kept["cleanup.policy"] == "delete"
    finally:
        await kafka_admin.delete_topics([spec.name])


async def test_adding_partitions_to_a_keyed_topic_is_refused_unless_declared_a_migration(
    kafka_admin: AIOKafkaAdminClient, topic_prefix: str
) -> None:
    name = CHECKOUT.named(topic_prefix)
    await kafka_admin.create_topics([NewTopic(name, 2, 1)])
    await until_visible(kafka_admin, {name})
    try:
        [spec] = [s for s in registry_specs(topic_prefix) if s.name == name]
        with pytest.raises(RepartitionRefused, match="per-key order") as refused:
            await provision(kafka_admin, [spec])
        print(f"refused: {refused.value}")
        [described] = await kafka_admin.describe_topics([name])
        assert len(described["partitions"]) == 2, "nothing changed"
        assert (await topic_configs(kafka_admin, name)).get("retention.ms") != "-1", "configs untouched too"

        [report] = await provision(kafka_admin, [spec], allow_repartition=True)
        assert report.outcome == "changed"
        assert f"partitions 2 -> {CHECKOUT.partitions}" in report.details
        [described] = await kafka_admin.describe_topics([name])
        assert len(described["partitions"]) == CHECKOUT.partitions
    finally:
        await kafka_admin.delete_topics([name])
