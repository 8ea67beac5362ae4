"""Local copies of compacted topics: every instance of a service reads the whole topic, with no
consumer group, and keeps what it needs of the newest record per key.

``CompactedTopicReader`` is the reading: every partition from the beginning, ``caught_up`` once
it has read up to the end offsets it found at start, each record handed to ``_apply``; a failed
read is logged and tried again, what was read stays. ``run`` follows the topic until ``stop``
(``ServiceRuntime.follow`` starts one in the background). buybutton.rollout_replica's
RulesReplica is one; ``TableReplica`` is another: key -> newest value, how every instance
serves a table that a stream app keeps partitioned across instances (the topic is the table's
changelog; a tombstone forgets the key). Until caught up ``get`` answers None, as for a key it
never saw.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from buybutton.kafka.partitions import partition_ids

log = structlog.get_logger(__name__)


class CompactedTopicReader:
    def __init__(self, bootstrap_servers: str, topic: str, *, client_id: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, client_id=client_id, group_id=None, enable_auto_commit=False
        )
        self.caught_up = asyncio.Event()
        self.applied = 0
        self._ends: dict[TopicPartition, int] = {}

    def _apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [TopicPartition(self.topic, p) for p in await partition_ids(self.consumer, self.topic)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_beginning(*partitions)
        self._ends = await self.consumer.end_offsets(partitions)
        await self._check_caught_up()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def run(self, stop: asyncio.Event, *, retry_after_s: float = 1.0) -> None:
        while not stop.is_set():
            try:
                batches = await self.consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        self._apply(record)
                await self._check_caught_up()
            except Exception as error:
                log.warning(
                    "replica could not read; will retry", topic=self.topic, error_class=type(error).__name__
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), retry_after_s)

    async def _check_caught_up(self) -> None:
        if self.caught_up.is_set():
            return
        positions = {tp: await self.consumer.position(tp) for tp in self._ends}
        if all(positions[tp] >= end for tp, end in self._ends.items()):
            self.caught_up.set()


class TableReplica(CompactedTopicReader):
    def __init__(self, bootstrap_servers: str, topic: str, *, client_id: str) -> None:
        super().__init__(bootstrap_servers, topic, client_id=client_id)
        self._values: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._values.get(key) if self.caught_up.is_set() else None

    def _apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key is None:
            log.warning("table record without a key skipped", topic=self.topic)
            return
        name = record.key.decode(errors="replace")
        if record.value is None:
            self._values.pop(name, None)
        else:
            self._values[name] = record.value
        self.applied += 1
