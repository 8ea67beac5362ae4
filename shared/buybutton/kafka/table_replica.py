"""A read-only copy of a compacted topic, key -> newest value: how every instance of a service
serves a table that a stream app keeps partitioned across instances (the topic is the table's
changelog).

Reads every partition from the beginning with no consumer group, keeps the newest value per key
(a tombstone forgets the key), and sets ``caught_up`` once it has read up to the end offsets it
found at start; until then ``get`` answers None, as for a key it never saw. A failed read is
logged and tried again; what was read stays.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from buybutton.kafka.partitions import partition_ids

log = structlog.get_logger(__name__)


class TableReplica:
    def __init__(self, bootstrap_servers: str, topic: str, *, client_id: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, client_id=client_id, group_id=None, enable_auto_commit=False
        )
        self.caught_up = asyncio.Event()
        self.applied = 0
        self._values: dict[str, bytes] = {}
        self._ends: dict[TopicPartition, int] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def get(self, key: str) -> bytes | None:
        return self._values.get(key) if self.caught_up.is_set() else None

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [TopicPartition(self.topic, p) for p in await partition_ids(self.consumer, self.topic)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_beginning(*partitions)
        self._ends = await self.consumer.end_offsets(partitions)
        await self._check_caught_up()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.consumer.stop()

    async def _run(self, retry_after_s: float = 1.0) -> None:
        while not self._stop.is_set():
            try:
                batches = await self.consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        self._apply(record.key, record.value)
                await self._check_caught_up()
            except Exception as error:
                log.warning(
                    "table replica could not read; will retry", topic=self.topic, error=type(error).__name__
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), retry_after_s)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            log.warning("table record without a key skipped", topic=self.topic)
            return
        name = key.decode(errors="replace")
        if value is None:
            self._values.pop(name, None)
        else:
            self._values[name] = value
        self.applied += 1

    async def _check_caught_up(self) -> None:
        if self.caught_up.is_set():
            return
        positions = {tp: await self.consumer.position(tp) for tp in self._ends}
        if all(positions[tp] >= end for tp, end in self._ends.items()):
            self.caught_up.set()
