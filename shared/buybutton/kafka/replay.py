"""Replay dead letters to the one group that failed them: read ``<topic>.<group>.dlq`` and write
each record, bytes unchanged, to ``<topic>.<group>.retry``, which only that group's consume loop
reads (other groups of ``<topic>`` never see the record again), once. The replayer's own
consumer group remembers how far it got, so a second replay sends only what was dead-lettered
since."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from buybutton.kafka.dead_letters import replay_headers, retry_topic_of
from buybutton.kafka.partitions import partition_ids
from buybutton.kafka.producer import EventPublisher

REPLAYER_GROUP = "dlq-replayer"
Progress = Callable[[int, int], None]


@dataclass
class ReplayResult:
    replayed: int = 0
    targets: dict[str, int] = field(default_factory=dict)


async def replay_dead_letters(
    bootstrap_servers: str,
    dlq_topic_name: str,
    *,
    limit: int | None = None,
    group_id: str = REPLAYER_GROUP,
    progress: Progress | None = None,
) -> ReplayResult:
    """Send every not-yet-replayed record of ``dlq_topic_name`` to its group's retry topic."""
    publisher = await EventPublisher.start(bootstrap_servers, client_id=group_id)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        return await _replay(consumer, publisher, dlq_topic_name, limit, progress)
    finally:
        await consumer.stop()
        await publisher.stop()


async def _replay(
    consumer: AIOKafkaConsumer,
    publisher: EventPublisher,
    dlq_topic_name: str,
    limit: int | None,
    progress: Progress | None,
) -> ReplayResult:
    target = retry_topic_of(dlq_topic_name)
    await partition_ids(consumer, target)  # LookupError now rather than a send that waits for it
    partitions = [TopicPartition(dlq_topic_name, p) for p in await partition_ids(consumer, dlq_topic_name)]
    consumer.assign(partitions)
    ends = await consumer.end_offsets(partitions)
    backlog = {tp: ends[tp] - await consumer.position(tp) for tp in partitions}
    total = sum(backlog.values()) if limit is None else min(limit, sum(backlog.values()))
    result = ReplayResult()
    remaining = {tp for tp, left in backlog.items() if left > 0}
    while remaining and result.replayed < total:
        batches = await consumer.getmany(*remaining, timeout_ms=1000)
        for tp, records in batches.items():
            for record in records[: total - result.replayed]:
                await publisher.publish_raw(
                    target,
                    key=record.key,
                    value=record.value,
                    headers=replay_headers(record.headers, dlq_topic_name),
                )
                await consumer.commit({tp: record.offset + 1})
                result.replayed += 1
                result.targets[target] = result.targets.get(target, 0) + 1
                if progress:
                    progress(result.replayed, total)
        remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    return result
