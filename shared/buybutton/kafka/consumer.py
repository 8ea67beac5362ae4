"""The consume loop every service runs, written once.

Consumes the topics its routing table names, and the group's own retry topic beside each (where
replayed dead letters arrive); for each record, in partition order: skip it if the group does not
route its event type (on the header, before validation), decode it with the shared models, run
the routed handler, and only then commit the offset. The loop never publishes an event: a
handler makes its state change, with the events that follow, through the unit of work, whose
outbox a relay publishes. A handler that returns anything is a bug the loop refuses loudly.

Failures, by kind (``buybutton.faults.is_transient``):
- unreadable (not JSON, unknown version of a routed type, wrong schema): dead-lettered at once;
- a domain error: ``RetryPolicy.attempts`` attempts, then copied to the group's
  ``<topic>.<group>.dlq`` (error class in headers) and the partition moves on;
- transient (database, broker, a dependency's timeout, 5xx or 429, an attempt over
  ``attempt_timeout_s``): retried without limit with capped, jittered backoff, holding the
  partition so that per-key order survives the outage (a member handles its partitions one
  after another, so its other partitions wait too); never dead-lettered. ``problem()`` reports
  it to the health check once it lasts ``report_after_s``.
Nothing is committed that is not handled or dead-lettered, so a crash, a stop mid-retry or a
hand-over in a rebalance (rebalance.py) means redelivery, never loss: handlers deduplicate by
event_id. ``stop()`` (or the stop event) ends a retry, a backoff or a rewind at once.

With ``lanes`` above 1 (lanes.py) the loop handles records of different keys concurrently, up to
``lanes`` keys at once, each key's records still one after another in offset order with the same
failure rules: a transient outage or a slow handler holds its own key only. It keeps fetching
while keys are held, up to ``batch_size`` records queued unsettled in all, and commits per
partition the low watermark (watermark.py): the offset below which every record is settled, so a
crash delivers again everything not settled and some that was (deduplicated). A partition whose
uncommitted span reaches ``10 * batch_size`` records is paused until it halves, so a key held
that long holds its whole partition, and held keys with ``batch_size`` records queued in all
hold the member. A fetch or commit that fails is tried again from the watermarks (nothing is
rewound: every record fetched stays queued until settled). ``problem()`` names the longest
outage of any lane.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from buybutton.kafka.attempt import Abandoned, attempt
from buybutton.kafka.handling import HandlerReturnedValue, LoopStats, Record, RecordHandling
from buybutton.kafka.lanes import LaneHandOver, Lanes
from buybutton.kafka.producer import EventPublisher
from buybutton.kafka.rebalance import HandOver, Progress
from buybutton.kafka.retry import RetryPolicy, pause
from buybutton.kafka.routing import Handler, Routes, RoutingTable

__all__ = ["ConsumeLoop", "Handler", "HandlerReturnedValue", "LoopStats", "RetryPolicy", "Routes"]
log = structlog.get_logger(__name__)

COMMIT_TIMEOUT_S = 5.0
CONSUMER_SETTINGS: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "isolation_level": "read_committed",
}


class ConsumeLoop:
    """``consumer_name`` is the group's name in the registry (default: ``group_id``); it names
    the dead-letter and retry topics. ``publisher`` writes dead letters only. ``lanes`` is how
    many keys are handled at once (1: every record of the member one after another)."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        routes: Routes,
        publisher: EventPublisher,
        retry: RetryPolicy | None = None,
        batch_size: int = 100,
        session_timeout_ms: int = 10_000,
        consumer_name: str | None = None,
        hand_over_grace_s: float = 10.0,
        lanes: int = 1,
    ) -> None:
        if lanes < 1:
            raise ValueError(f"lanes must be at least 1, not {lanes}")
        self.group_id = group_id
        routing = RoutingTable.build(
            routes, group=consumer_name or group_id, topic_prefix=publisher.topic_prefix
        )
        self.topics = routing.topics
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.stopping = asyncio.Event()
        self.progress = Progress()
        self.records = RecordHandling(
            routing, publisher, self.retry, group_id=group_id, stopping=self.stopping, progress=self.progress
        )
        self.stats = self.records.stats
        self.lanes: Lanes | None = None
        self.hand_over: HandOver | LaneHandOver
        if lanes == 1:
            self.hand_over = HandOver(self.progress, self._commit, grace_s=hand_over_grace_s)
        else:
            self.lanes = Lanes(
                self.records, self.retry, width=lanes, span_limit=10 * batch_size, stopping=self.stopping
            )
            self.hand_over = LaneHandOver(self.lanes, self._commit, grace_s=hand_over_grace_s)
        self._not_running = asyncio.Event()
        self._not_running.set()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=group_id,
            max_poll_records=batch_size,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(1000, session_timeout_ms // 3),
            **CONSUMER_SETTINGS,
        )

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.subscribe(self.topics, listener=self.hand_over)

    async def stop(self) -> None:
        """End the run at once (a record in flight or in retry stays uncommitted), then leave."""
        self.stopping.set()
        await self._not_running.wait()
        await self.consumer.stop()

    def problem(self) -> str | None:
        """For a health check: what the loop has been retrying for too long, if anything."""
        outage = self.records.outage
        if outage is None or outage.seconds() < self.retry.report_after_s:
            return None
        others = len(self.records.outages) - 1
        return outage.describe() + (f" (and {others} other lanes)" if others else "")

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Handle batches until ``stop`` is set or ``stop()`` is called. When a batch fails
        outside the handlers (the broker unreachable for a commit), rewind every partition to its
        last commit before going on, so that nothing fetched but not committed is ever skipped."""
        relay = asyncio.ensure_future(self._stop_when(stop)) if stop else None
        self._not_running.clear()
        failures = 0
        try:
            if self.lanes is not None:
                await self._run_in_lanes(self.lanes)
            while not self.stopping.is_set():
                try:
                    await self.poll_once(timeout_ms=500)
                    failures = 0
                except Exception as error:
                    failures += 1
                    log.error("batch failed; rewinding to the last commit", error_class=type(error).__name__)
                    failures = await self._rewind(failures)
                    await pause(self.retry.jittered_backoff_s(failures), self.stopping)
        finally:
            self._not_running.set()
            if relay:
                relay.cancel()

    async def _run_in_lanes(self, lanes: Lanes) -> None:
        failures = 0
        try:
            while not self.stopping.is_set():
                try:
                    await self._fetch_into(lanes)
                    await self._commit_watermarks(lanes)
                    failures = 0
                except Exception as error:
                    failures += 1
                    log.error("fetch or commit failed; going on", error_class=type(error).__name__)
                    await pause(self.retry.jittered_backoff_s(failures), self.stopping)
        finally:
            await lanes.settle_in_flight(COMMIT_TIMEOUT_S)  # stopping: each lane abandons at once
            try:
                await self._commit_watermarks(lanes)
            except Exception as error:
                log.warning("commit at stop failed", error_class=type(error).__name__)
            lanes.drop_all()

    async def _fetch_into(self, lanes: Lanes) -> None:
        room = self.batch_size - lanes.in_flight
        if room <= 0:
            await lanes.wait_for_change(timeout_s=0.2)
        else:
            batches = await self.consumer.getmany(
                timeout_ms=100 if lanes.in_flight else 500, max_records=room
            )
            for partition, records in batches.items():
                lanes.add(partition, records)
        lanes.pace(self.consumer)

    async def _commit_watermarks(self, lanes: Lanes) -> None:
        offsets, committed = lanes.committable(), lanes.committed  # a hand-over may replace both
        await self._commit(offsets)
        committed.update(offsets)

    async def _stop_when(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.stopping.set()

    async def _rewind(self, failures: int) -> int:
        """Seek every assigned partition back to its committed offset (or the beginning), trying
        until it works or the loop stops. Returns the failures counted so far."""
        while not self.stopping.is_set():
            try:
                await attempt(
                    self._seek_to_commits, timeout_s=self.retry.attempt_timeout_s, stopping=self.stopping
                )
                break
            except Abandoned:
                break
            except Exception as error:
                failures += 1
                log.warning("could not rewind yet", error_class=type(error).__name__)
                await pause(self.retry.jittered_backoff_s(failures), self.stopping)
        return failures

    async def _seek_to_commits(self) -> None:
        for partition in self.consumer.assignment():
            committed = await self.consumer.committed(partition)
            if committed is None:
                await self.consumer.seek_to_beginning(partition)
            else:
                self.consumer.seek(partition, committed)

    async def poll_once(self, timeout_ms: int = 1000) -> int:
        """Handle one batch, then commit what was handled. Returns how many were handled."""
        if self.lanes is not None:
            raise RuntimeError("a loop with lanes runs with run(), not batch by batch")
        batches = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=self.batch_size)
        self.progress.begin_batch()
        handled = 0
        try:
            for partition, records in batches.items():
                handled += await self._handle_partition(partition, records)
        finally:
            try:
                await self._commit(self.progress.take())
            finally:
                self.progress.idle.set()  # a hand-over may go on: this batch is done and committed
        return handled

    async def _handle_partition(self, partition: TopicPartition, records: list[Record]) -> int:
        handled = 0
        for record in records:
            if self.records.interrupted():
                break
            try:
                await self.records.settle(record)
            except Abandoned:
                self.stats.abandoned += 1
                break
            self.progress.handled(partition, record.offset)
            handled += 1
        return handled

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit, waiting at most COMMIT_TIMEOUT_S (a stop still commits what was completed, but
        never waits long for a broker that is away: those records are then delivered again)."""
        if not offsets:
            return
        try:
            await asyncio.wait_for(self.consumer.commit(offsets), COMMIT_TIMEOUT_S)
        except (CommitFailedError, IllegalStateError):
            # the partitions moved to another member: it reads from the last commit again
            log.warning("commit refused after a rebalance", partitions=len(offsets))
