"""Topic provisioning from the registry: create what is missing, raise partition counts and set
configs that differ, report every topic as created, changed or unchanged. Running it twice
changes nothing the second time.

Rules it keeps:
- ``min.insync.replicas`` follows the replication factor (``topics.min_insync_replicas``: RF 3
  -> 2); for a topic that exists it follows the topic's actual factor, which provisioning never
  changes (that is a partition reassignment), so a write never needs more replicas than exist.
- Config changes are incremental: only the registry's keys are set, and every other config set
  on the topic by hand is kept. aiokafka's admin has no IncrementalAlterConfigs, and
  AlterConfigs replaces a topic's whole set, so provisioning reads the topic's dynamic configs
  (describe_configs) and sends them merged with the registry's. A change made by someone else
  between that read and the write is lost; provisioning is meant to run alone.
- Partitions are never reduced (Kafka cannot); a topic with more than declared is reported,
  not touched. Adding partitions to a keyed or compacted topic (every registry topic is keyed)
  remaps keys to partitions and breaks per-key order, so it is refused, before anything is
  changed, unless ``allow_repartition`` says it is a planned migration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import for_code

from buybutton.kafka.topic_configs import alter_topic_configs, dynamic_topic_configs, topic_configs
from buybutton.topics import ALL_TOPICS, MERCHANT_ORDERS, Topic, min_insync_replicas

Outcome = Literal["created", "changed", "unchanged"]
TOPIC_ALREADY_EXISTS = 36
MIN_INSYNC = "min.insync.replicas"


class RepartitionRefused(ValueError):
    """Adding partitions to a keyed or compacted topic was asked for without the migration flag."""


@dataclass(frozen=True)
class TopicSpec:
    """A concrete topic to provision: a name with its partitions, replication and configs."""

    name: str
    partitions: int
    configs: dict[str, str]
    replication_factor: int = 1
    keyed: bool = True

    @property
    def compacted(self) -> bool:
        return "compact" in self.configs.get("cleanup.policy", "")


@dataclass(frozen=True)
class ProvisionReport:
    name: str
    outcome: Outcome
    details: str = ""


def registry_specs(
    prefix: str = "", topics: Iterable[Topic] = ALL_TOPICS, *, replication_factor: int = 1
) -> list[TopicSpec]:
    """Every registry topic and, per consumer group, its dead-letter and retry topics (keyed
    like the topic, with as many partitions, so a record keeps its partition number)."""
    specs = []
    for topic in topics:
        configs = topic.configs(replication_factor)
        specs.append(TopicSpec(topic.named(prefix), topic.partitions, configs, replication_factor))
        beside = {**configs, "cleanup.policy": "delete"}
        for group in topic.consumed_by:
            for name in (topic.dlq_named(prefix, group), topic.retry_named(prefix, group)):
                specs.append(TopicSpec(name, topic.partitions, beside, replication_factor))
    return specs


def merchant_spec(merchant_id: str, prefix: str = "", *, replication_factor: int = 1) -> TopicSpec:
    return TopicSpec(
        MERCHANT_ORDERS.for_merchant(merchant_id, prefix),
        MERCHANT_ORDERS.partitions,
        MERCHANT_ORDERS.configs(replication_factor),
        replication_factor,
    )


async def provision(
    admin: AIOKafkaAdminClient,
    specs: Iterable[TopicSpec],
    *,
    dry_run: bool = False,
    allow_repartition: bool = False,
) -> list[ProvisionReport]:
    specs = list(specs)
    existing = set(await admin.list_topics())
    present = {s.name: await _describe(admin, s.name) for s in specs if s.name in existing}
    if not allow_repartition:
        _refuse_repartition([s for s in specs if s.name in present], present)
    reports = []
    missing = [s for s in specs if s.name not in existing]
    if missing and not dry_run:
        response = await admin.create_topics(
            [NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs) for s in missing]
        )
        for name, code, *_ in response.topic_errors:
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise for_code(code)(f"creating {name}")
        await until_visible(admin, {s.name for s in missing})
    reports += [ProvisionReport(s.name, "created", f"{s.partitions} partitions") for s in missing]
    for spec in specs:
        if spec.name in present:
            reports.append(await _reconcile(admin, spec, present[spec.name], dry_run=dry_run))
    return reports


async def _describe(admin: AIOKafkaAdminClient, name: str) -> dict[str, Any]:
    [described] = await admin.describe_topics([name])
    return dict(described)


def _refuse_repartition(specs: list[TopicSpec], described: dict[str, dict[str, Any]]) -> None:
    growing = [s for s in specs if len(described[s.name]["partitions"]) < s.partitions]
    refused = [s for s in growing if s.keyed or s.compacted]
    if refused:
        changes = ", ".join(
            f"{s.name} {len(described[s.name]['partitions'])} -> {s.partitions}" for s in refused
        )
        raise RepartitionRefused(
            f"refusing to add partitions to keyed topics ({changes}): a key's partition is its hash "
            "modulo the partition count, so more partitions send a key's new records to another "
            "partition than its old ones, and readers lose its per-key order (a compacted topic "
            "keeps two latest values for one key). Do it as a planned migration, with producers "
            "and consumers drained, and pass --allow-repartition (allow_repartition=True)."
        )


async def until_visible(admin: AIOKafkaAdminClient, names: set[str], timeout_s: float = 30) -> None:
    """Wait until the broker's metadata lists the new topics (the controller commits first, the
    broker learns of it a moment later), so that callers can use them at once."""
    deadline = time.monotonic() + timeout_s
    while not names <= set(await admin.list_topics()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not visible after {timeout_s:.0f} s: {sorted(names)}")
        await asyncio.sleep(0.05)


async def _reconcile(
    admin: AIOKafkaAdminClient, spec: TopicSpec, described: dict[str, Any], *, dry_run: bool
) -> ProvisionReport:
    changes = []
    partitions = len(described["partitions"])
    if partitions < spec.partitions:
        changes.append(f"partitions {partitions} -> {spec.partitions}")
        if not dry_run:
            await admin.create_partitions({spec.name: NewPartitions(spec.partitions)})
    elif partitions > spec.partitions:
        changes.append(f"has {partitions} partitions, declared {spec.partitions} (left as is)")
    replicas = len(described["partitions"][0]["replicas"])
    wanted = {**spec.configs, MIN_INSYNC: str(min_insync_replicas(replicas))}
    if replicas != spec.replication_factor:
        changes.append(f"replication factor {replicas}, declared {spec.replication_factor} (left as is)")
    current = await topic_configs(admin, spec.name)
    differing = {k: v for k, v in wanted.items() if current.get(k) != v}
    if differing:
        changes += [f"{k} {current.get(k)} -> {v}" for k, v in sorted(differing.items())]
        if not dry_run:
            kept = await dynamic_topic_configs(admin, spec.name)
            await alter_topic_configs(admin, spec.name, {**kept, **wanted})
    if not changes:
        return ProvisionReport(spec.name, "unchanged")
    return ProvisionReport(spec.name, "changed", "; ".join(changes))
