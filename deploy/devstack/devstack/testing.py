"""Helpers for tests against the real components: read a topic until a condition holds, wait
for a condition; always with a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import base64
import importlib
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from buybutton.auth import generate_signing_key
from buybutton.kafka.partitions import partition_ids

Records = list[ConsumerRecord[bytes, bytes]]


async def read_until(
    bootstrap: str, topic: str, done: Callable[[Records], bool], *, timeout_s: float = 30.0
) -> Records:
    """Read ``topic`` from the beginning until ``done(records)``; fail after ``timeout_s``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: Records = []
    deadline = time.monotonic() + timeout_s
    try:
        while not done(records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{topic}: condition not met in {timeout_s} s; read {len(records)} record(s)"
                )
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def read_all(bootstrap: str, topic: str, *, timeout_s: float = 30.0) -> Records:
    """Every record on ``topic`` now: from the beginning up to the end offsets at the call."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    records: Records = []
    try:
        partitions = [TopicPartition(topic, p) for p in await partition_ids(consumer, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: not read to its end in {timeout_s} s")
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def wait_for(
    condition: Callable[[], bool], *, timeout_s: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s} s")
        await asyncio.sleep(0.05)


def offline_service_settings(package: str, **overrides: Any) -> Any:
    """A platform service's Settings that reach nothing (broker and database on a closed port),
    with every required secret given a throwaway value: for tests of an app without its
    lifespan (health checks, request guards)."""
    settings_type = importlib.import_module(f"{package}.config").Settings
    return settings_type(
        environment="test",
        kafka_bootstrap_servers="127.0.0.1:1",
        mongodb_url="mongodb://127.0.0.1:1/",
        auth_public_key=generate_signing_key()[1],
        master_keys="1:" + base64.b64encode(b"k" * 32).decode(),  # the vault's; the others ignore it
        keystore_path="never-opened-without-lifespan.sqlite3",  # the vault's too
        stripe_secret_key="sk_test_offline",  # noqa: S106  (checkout's, never sent anywhere)
        stripe_webhook_secret="whsec_offline",  # noqa: S106  (checkout's too)
        service_signing_key=generate_signing_key()[0],  # checkout's own token key
        **overrides,
    )


async def group_lag(bootstrap: str, group_id: str, topic: str) -> int:
    """How many records of ``topic`` the consumer group ``group_id`` has not committed yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
        partitions = [TopicPartition(topic, p) for p in await partition_ids(consumer, topic)]
        ends = await consumer.end_offsets(partitions)
        return sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


async def wait_caught_up(bootstrap: str, group_id: str, topic: str, *, timeout_s: float = 60) -> None:
    """Until ``group_id`` has committed every record of ``topic``; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while (behind := await group_lag(bootstrap, group_id, topic)) > 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{group_id} is {behind} records of {topic} behind after {timeout_s} s")
        await asyncio.sleep(0.2)
