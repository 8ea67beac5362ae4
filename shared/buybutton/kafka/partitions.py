"""Partition metadata straight from the broker."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer


async def partition_ids(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The topic's partition numbers, fresh from the broker; LookupError if it does not exist."""
    cluster = await consumer._client.fetch_all_metadata()  # the public topics() drops partitions
    partitions = cluster.partitions_for_topic(topic)
    if not partitions:
        raise LookupError(f"topic {topic} does not exist")
    return sorted(partitions)
