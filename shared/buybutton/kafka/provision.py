"""Topic provisioning from the registry: create what is missing, raise partition counts and set
configs that differ, report every topic as created, changed or unchanged. Running it twice
changes nothing the second time. Partitions are never reduced (Kafka cannot); a topic with more
partitions than declared is reported, not touched."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import for_code

from buybutton.topics import ALL_TOPICS, MERCHANT_ORDERS, Topic

Outcome = Literal["created", "changed", "unchanged"]
TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicSpec:
    """A concrete topic to provision: a name with its partitions and configs."""

    name: str
    partitions: int
    configs: dict[str, str]


@dataclass(frozen=True)
class ProvisionReport:
    name: str
    outcome: Outcome
    details: str = ""


def registry_specs(prefix: str = "", topics: Iterable[Topic] = ALL_TOPICS) -> list[TopicSpec]:
    """Every registry topic, and a dead-letter topic beside each consumed one."""
    specs = []
    for topic in topics:
        specs.append(TopicSpec(topic.named(prefix), topic.partitions, topic.configs()))
        if topic.has_dlq:
            dlq_configs = {**topic.configs(), "cleanup.policy": "delete"}
            specs.append(TopicSpec(topic.dlq_named(prefix), topic.partitions, dlq_configs))
    return specs


def merchant_spec(merchant_id: str, prefix: str = "") -> TopicSpec:
    return TopicSpec(
        MERCHANT_ORDERS.for_merchant(merchant_id, prefix),
        MERCHANT_ORDERS.partitions,
        MERCHANT_ORDERS.configs(),
    )


async def provision(
    admin: AIOKafkaAdminClient,
    specs: Iterable[TopicSpec],
    *,
    replication_factor: int = 1,
    dry_run: bool = False,
) -> list[ProvisionReport]:
    specs = list(specs)
    existing = set(await admin.list_topics())
    reports = []
    missing = [s for s in specs if s.name not in existing]
    if missing and not dry_run:
        response = await admin.create_topics(
            [NewTopic(s.name, s.partitions, replication_factor, topic_configs=s.configs) for s in missing]
        )
        for name, code, *_ in response.topic_errors:
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise for_code(code)(f"creating {name}")
        await until_visible(admin, {s.name for s in missing})
    reports += [ProvisionReport(s.name, "created", f"{s.partitions} partitions") for s in missing]
    for spec in specs:
        if spec.name in existing:
            reports.append(await _reconcile(admin, spec, dry_run=dry_run))
    return reports


async def until_visible(admin: AIOKafkaAdminClient, names: set[str], timeout_s: float = 30) -> None:
    """Wait until the broker's metadata lists the new topics (the controller commits first, the
    broker learns of it a moment later), so that callers can use them at once."""
    deadline = time.monotonic() + timeout_s
    while not names <= set(await admin.list_topics()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not visible after {timeout_s:.0f} s: {sorted(names)}")
        await asyncio.sleep(0.05)


async def _reconcile(admin: AIOKafkaAdminClient, spec: TopicSpec, *, dry_run: bool) -> ProvisionReport:
    changes = []
    [described] = await admin.describe_topics([spec.name])
    partitions = len(described["partitions"])
    if partitions < spec.partitions:
        changes.append(f"partitions {partitions} -> {spec.partitions}")
        if not dry_run:
            await admin.create_partitions({spec.name: NewPartitions(spec.partitions)})
    elif partitions > spec.partitions:
        changes.append(f"has {partitions} partitions, declared {spec.partitions} (left as is)")
    current = await _topic_configs(admin, spec.name)
    differing = {k: v for k, v in spec.configs.items() if current.get(k) != v}
    if differing:
        changes += [f"{k} {current.get(k)} -> {v}" for k, v in sorted(differing.items())]
        if not dry_run:
            # AlterConfigs replaces the topic's whole set: the registry's set is the declaration
            responses = await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=spec.configs)]
            )
            for response in responses:
                for code, message, *_ in response.resources:
                    if code != 0:
                        raise for_code(code)(f"altering {spec.name}: {message}")
    if not changes:
        return ProvisionReport(spec.name, "unchanged")
    return ProvisionReport(spec.name, "changed", "; ".join(changes))


async def _topic_configs(admin: AIOKafkaAdminClient, name: str) -> dict[str, str]:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    configs: dict[str, str] = {}
    for resource in response.resources:
        for entry in resource[4]:
            configs[entry[0]] = entry[1]
    return configs
