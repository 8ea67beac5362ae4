"""Provisioning from the registry creates every topic and DLQ, is idempotent, and brings
drifted partitions and configs back to what the registry declares."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from buybutton.kafka.provision import _topic_configs, provision, registry_specs, until_visible
from buybutton.topics import ALL_TOPICS, CHECKOUT, ROLLOUT


async def retention_becomes(admin: AIOKafkaAdminClient, topic: str, value: str) -> None:
    deadline = time.monotonic() + 15
    while (await _topic_configs(admin, topic))["retention.ms"] != value:
        assert time.monotonic() < deadline, f"{topic} retention.ms never became {value}"
        await asyncio.sleep(0.05)


async def test_provision_creates_then_changes_nothing_then_repairs_drift(
    kafka_admin: AIOKafkaAdminClient, topic_prefix: str
) -> None:
    specs = registry_specs(topic_prefix)
    try:
        first = await provision(kafka_admin, specs)
        assert Counter(r.outcome for r in first) == {"created": len(specs)}
        expected_names = {t.named(topic_prefix) for t in ALL_TOPICS} | {
            t.dlq_named(topic_prefix) for t in ALL_TOPICS if t.has_dlq
        }
        assert {r.name for r in first} == expected_names
        existing = set(await kafka_admin.list_topics())
        assert expected_names <= existing

        rollout = await _topic_configs(kafka_admin, ROLLOUT.named(topic_prefix))
        assert rollout["cleanup.policy"] == "compact"
        [described] = await kafka_admin.describe_topics([CHECKOUT.named(topic_prefix)])
        assert len(described["partitions"]) == CHECKOUT.partitions

        second = await provision(kafka_admin, specs)
        assert {r.outcome for r in second} == {"unchanged"}

        drifted = CHECKOUT.named(topic_prefix)
        await kafka_admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    drifted,
                    configs={**CHECKOUT.configs(), "retention.ms": "3600000"},
                )
            ]
        )
        await retention_becomes(kafka_admin, drifted, "3600000")  # config changes propagate
        dry = await provision(kafka_admin, specs, dry_run=True)
        assert [r.name for r in dry if r.outcome == "changed"] == [drifted]
        assert (await _topic_configs(kafka_admin, drifted))["retention.ms"] == "3600000"

        repaired = await provision(kafka_admin, specs)
        [change] = [r for r in repaired if r.outcome == "changed"]
        assert change.name == drifted and "retention.ms 3600000 -> -1" in change.details
        await retention_becomes(kafka_admin, drifted, "-1")
    finally:
        await kafka_admin.delete_topics([s.name for s in specs])


async def test_provision_adds_partitions_to_a_topic_that_has_too_few(
    kafka_admin: AIOKafkaAdminClient, topic_prefix: str
) -> None:
    from aiokafka.admin import NewTopic

    name = CHECKOUT.named(topic_prefix)
    await kafka_admin.create_topics([NewTopic(name, 2, 1)])
    await until_visible(kafka_admin, {name})
    try:
        [spec] = [s for s in registry_specs(topic_prefix) if s.name == name]
        [report] = await provision(kafka_admin, [spec])
        assert report.outcome == "changed"
        assert f"partitions 2 -> {CHECKOUT.partitions}" in report.details
        [described] = await kafka_admin.describe_topics([name])
        assert len(described["partitions"]) == CHECKOUT.partitions
    finally:
        await kafka_admin.delete_topics([name])
