"""A local replica of the compacted rollout topic, for services that decide the gate in-process.

Reads ``rollout.rules.v1`` from the beginning with no consumer group (every instance keeps the
whole, small, topic), keeps the newest RolloutChanged per rule name, and sets ``caught_up``
once it has read up to the end offsets it found at start. Until then (a partial replay could
miss a later kill switch), and for an unknown rule, ``rules()`` answers None and the gate fails
closed. A failed read is logged and tried again; the rules in force stay as they were. An
unreadable record is logged and skipped: the replica only reads, and the topic's owner is
responsible for what it writes.

``event()`` gives the RolloutChanged in force itself (its version, who changed it), and every
callable in ``listeners`` is called with each RolloutChanged as it is applied.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from buybutton.events import RolloutChanged
from buybutton.kafka.codec import PoisonRecord, decode
from buybutton.kafka.partitions import partition_ids
from buybutton.rollout import GateRules
from buybutton.topics import ROLLOUT

log = structlog.get_logger(__name__)


class RulesReplica:
    def __init__(self, bootstrap_servers: str, *, client_id: str, topic_prefix: str = "") -> None:
        self.topic = ROLLOUT.named(topic_prefix)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, client_id=client_id, group_id=None, enable_auto_commit=False
        )
        self.caught_up = asyncio.Event()
        self.applied = 0
        self._rules: dict[str, GateRules] = {}
        self._events: dict[str, RolloutChanged] = {}
        self.listeners: list[Callable[[RolloutChanged], None]] = []
        self._ends: dict[TopicPartition, int] = {}

    def rules(self, rule_name: str) -> GateRules | None:
        return self._rules.get(rule_name) if self.caught_up.is_set() else None

    def event(self, rule_name: str) -> RolloutChanged | None:
        """The RolloutChanged in force for this rule, or None (also until caught up)."""
        return self._events.get(rule_name) if self.caught_up.is_set() else None

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
                        self._apply(record.value, record.headers)
                await self._check_caught_up()
            except Exception as error:
                log.warning("rollout replica could not read; will retry", error_class=type(error).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), retry_after_s)

    def _apply(self, value: bytes | None, headers: list[tuple[str, bytes]] | None) -> None:
        try:
            event = decode(value, headers)
        except PoisonRecord as error:
            log.warning("unreadable rollout record skipped", error=str(error))
            return
        if isinstance(event, RolloutChanged):
            self._rules[event.rule_name] = GateRules.of(event)
            self._events[event.rule_name] = event
            self.applied += 1
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception as error:  # one listener's bug must not stop the replica
                    log.error("rollout listener failed", error_class=type(error).__name__)

    async def _check_caught_up(self) -> None:
        if self.caught_up.is_set():
            return
        positions = {tp: await self.consumer.position(tp) for tp in self._ends}
        if all(positions[tp] >= end for tp, end in self._ends.items()):
            self.caught_up.set()
