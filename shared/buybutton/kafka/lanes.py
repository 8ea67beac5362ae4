"""Records of different keys handled concurrently, each key's in offset order (ConsumeLoop with
``lanes`` above 1).

``Lanes`` takes the records the loop fetches and queues them by key (a record without a key
queues behind its partition; a record fetched again after a position reset is not queued twice);
at most ``width`` keys are worked on at once, each by one lane that settles the key's records
one after another (``RecordHandling.settle``: dead letters, bounded domain retries, transient
retries without limit), so a key in a transient outage holds its own lane only and the other
keys go on. Each partition keeps a ``Watermark``: the loop commits only the offset below which
every record is settled. A partition whose uncommitted span reaches ``span_limit`` records is
paused (its other keys wait too) until it shrinks to half; the loop also stops fetching while
``batch_size`` records are queued unsettled.

``LaneHandOver`` is the rebalance listener: on revocation no lane starts another record, a lane
waiting to retry is woken and abandons its record, the records in flight get at most the grace
to settle (then they are cancelled, uncommitted), the watermarks are committed and every queued
record is dropped, so no record of a revoked partition is handled here after the hand-over; the
next owner reads from those commits.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from buybutton.kafka.attempt import Abandoned
from buybutton.kafka.handling import Record, RecordHandling
from buybutton.kafka.retry import RetryPolicy, pause
from buybutton.kafka.watermark import Watermark

log = structlog.get_logger(__name__)
Commit = Callable[[dict[TopicPartition, int]], Awaitable[None]]


def lane_key(record: Record) -> Hashable:
    return record.key if record.key is not None else (record.topic, record.partition)


class Lanes:
    def __init__(
        self,
        records: RecordHandling,
        retry: RetryPolicy,
        *,
        width: int,
        span_limit: int,
        stopping: asyncio.Event,
    ) -> None:
        self.records = records
        self.retry = retry
        self.width = width
        self.span_limit = span_limit
        self.stopping = stopping
        # the event RecordHandling also watches, so that a lane waiting to retry wakes at a hand-over
        self.revoking = records.progress.revoking
        self.changed = asyncio.Event()  # a record settled or a lane ended
        self._reset()

    def _reset(self) -> None:
        self.queues: dict[Hashable, deque[tuple[TopicPartition, Record]]] = {}
        self.waiting: deque[Hashable] = deque()  # keys with queued records and no lane yet
        self.running: dict[Hashable, asyncio.Task[None]] = {}
        self.marks: dict[TopicPartition, Watermark] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()
        self.in_flight = 0  # queued and not settled

    def interrupted(self) -> bool:
        return self.stopping.is_set() or self.revoking.is_set()

    def add(self, partition: TopicPartition, records: list[Record]) -> None:
        mark = self.marks.setdefault(partition, Watermark())
        for record in records:
            if not mark.fetched(record.offset):
                continue  # fetched again after a position reset: already queued or settled
            key = lane_key(record)
            if key not in self.queues:
                self.queues[key] = deque()
                self.waiting.append(key)
            self.queues[key].append((partition, record))
            self.in_flight += 1
        self.start_lanes()

    def start_lanes(self) -> None:
        while self.waiting and len(self.running) < self.width and not self.interrupted():
            key = self.waiting.popleft()
            self.running[key] = asyncio.create_task(self._drain(key))

    async def _drain(self, key: Hashable) -> None:
        queue = self.queues[key]
        failures = 0
        try:
            while queue and not self.interrupted():
                partition, record = queue[0]
                try:
                    await self.records.settle(record, lane=key)
                except Abandoned:
                    self.records.stats.abandoned += 1
                    return
                except Exception as error:  # outside the handler (a dead letter refused): never skip it
                    failures += 1
                    log.error("could not settle a record; trying again", error_class=type(error).__name__)
                    if await pause(self.retry.jittered_backoff_s(failures), self.stopping, self.revoking):
                        return
                    continue
                failures = 0
                queue.popleft()
                self.marks[partition].settled(record.offset)
                self.in_flight -= 1
                self.changed.set()
        finally:
            del self.running[key]
            if not queue:
                del self.queues[key]
            self.changed.set()
            self.start_lanes()

    async def wait_for_change(self, timeout_s: float) -> None:
        self.changed.clear()
        await pause(timeout_s, self.changed, self.stopping)

    def committable(self) -> dict[TopicPartition, int]:
        """Each partition's watermark where it moved since the last commit."""
        offsets = {tp: mark.offset for tp, mark in self.marks.items() if mark.offset is not None}
        return {tp: offset for tp, offset in offsets.items() if self.committed.get(tp) != offset}

    def pace(self, consumer: AIOKafkaConsumer) -> None:
        """Pause a partition whose uncommitted span is at the limit; resume it at half."""
        for tp, mark in self.marks.items():
            try:
                if tp not in self.paused and mark.unsettled >= self.span_limit:
                    consumer.pause(tp)
                    self.paused.add(tp)
                elif tp in self.paused and mark.unsettled <= self.span_limit // 2:
                    consumer.resume(tp)
                    self.paused.discard(tp)
            except IllegalStateError:
                pass  # no longer assigned: the hand-over drops it

    async def settle_in_flight(self, grace_s: float) -> int:
        """Wait up to ``grace_s`` for the running lanes to end (none starts another record once
        interrupted); cancel what is left, uncommitted. Returns how many were cancelled."""
        running = list(self.running.values())
        if not running:
            return 0
        _, late = await asyncio.wait(running, timeout=grace_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        return len(late)

    def drop_all(self) -> None:
        """Forget every queued record and watermark (after a hand-over, or at the end)."""
        self._reset()


class LaneHandOver(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, lanes: Lanes, commit: Commit, *, grace_s: float) -> None:
        self.lanes = lanes
        self.commit = commit
        self.grace_s = grace_s
        self.handed_over = 0
        self.abandoned_in_flight = 0
        self.uncommitted_at_revocation = 0  # partitions whose settled records were not committed yet

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked:
            return  # the first join: nothing to hand over
        lanes = self.lanes
        self.handed_over += 1
        lanes.revoking.set()
        try:
            cancelled = await lanes.settle_in_flight(self.grace_s)
            if cancelled:
                self.abandoned_in_flight += cancelled
                log.warning("records still in flight at hand-over; abandoned", records=cancelled)
            completed = lanes.committable()
            self.uncommitted_at_revocation += len(completed)
            lanes.drop_all()
            if completed:
                await self.commit(completed)
        except (KafkaError, TimeoutError) as error:
            # the group moved on without us, or the broker is away: the next owner reads from the last commit
            log.warning("commit at hand-over refused", error_class=type(error).__name__)
        finally:
            lanes.revoking.clear()
            lanes.start_lanes()  # records of the new assignment fetched meanwhile

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions assigned", partitions=len(assigned), topics=sorted({tp.topic for tp in assigned})
        )
