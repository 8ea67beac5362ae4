"""The consume loop every service runs, written once.

Consumes the topics its routing table names; for each record, in partition order: decode it
with the shared models, call the handler routed for its event type, publish the events the
handler returns, and only then commit the offset. A handler (or its publish) that raises is
retried with bounded exponential backoff; after the last attempt the record goes to
``<topic>.dlq`` with the error in headers and the partition moves on. A record that can never
be read (not JSON, unknown type or version, wrong schema) goes to the DLQ at once. Nothing is
committed that is not handled or dead-lettered, so a crash means redelivery, never loss:
handlers must be idempotent (deduplicate by event_id).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord

from buybutton.events import Event
from buybutton.kafka.codec import PoisonRecord, decode
from buybutton.kafka.dead_letters import dead_letter_headers, dlq_topic
from buybutton.kafka.producer import EventPublisher
from buybutton.topics import topic_for

Handler = Callable[[Any], Awaitable[Sequence[Event] | None]]
Routes = Mapping[type[Event], Handler]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_backoff_s: float = 0.1
    max_backoff_s: float = 5.0

    def backoff_s(self, failed_attempt: int) -> float:
        return float(min(self.max_backoff_s, self.first_backoff_s * 2 ** (failed_attempt - 1)))


@dataclass
class LoopStats:
    handled: int = 0
    skipped: int = 0
    retries: int = 0
    dead_lettered: int = 0
    by_error: dict[str, int] = field(default_factory=dict)


CONSUMER_SETTINGS: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "isolation_level": "read_committed",
}


class ConsumeLoop:
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
    ) -> None:
        self.group_id = group_id
        self.routes = dict(routes)
        self.publisher = publisher
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.stats = LoopStats()
        prefix = publisher.topic_prefix
        self.topics = sorted({topic_for(event_type).named(prefix) for event_type in self.routes})
        self.consumer = AIOKafkaConsumer(
            *self.topics,
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

    def problem(self) -> str | None:
        """What keeps this loop from moving on, for the health check (nothing yet)."""
        return None

    async def stop(self) -> None:
        await self.consumer.stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Handle batches until ``stop`` is set. When a batch fails outside the handlers (the
        broker unreachable for a dead letter or a commit), rewind every partition to its last
        commit before going on, so that nothing fetched but not committed is ever skipped."""
        failures = 0
        while not stop.is_set():
            try:
                await self.poll_once(timeout_ms=500)
                failures = 0
            except Exception as error:
                failures += 1
                log.error("batch failed; rewinding to the last commit", error_class=type(error).__name__)
                while not await self._rewound():
                    failures += 1
                    await asyncio.sleep(self.retry.backoff_s(failures))

    async def _rewound(self) -> bool:
        """Seek every assigned partition back to its committed offset (or the beginning)."""
        try:
            for partition in self.consumer.assignment():
                committed = await self.consumer.committed(partition)
                if committed is None:
                    await self.consumer.seek_to_beginning(partition)
                else:
                    self.consumer.seek(partition, committed)
        except Exception as error:
            log.warning("could not rewind yet", error_class=type(error).__name__)
            return False
        return True

    async def poll_once(self, timeout_ms: int = 1000) -> int:
        """Handle one batch: every record, then one commit per partition. Returns the count."""
        batches = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=self.batch_size)
        count = 0
        for partition, records in batches.items():
            for record in records:
                await self.handle_record(record)
                count += 1
            try:
                await self.consumer.commit({partition: records[-1].offset + 1})
            except CommitFailedError:
                # the partition moved to another member during the batch; it will redeliver
                # from the last commit, and handlers deduplicate
                log.warning("commit refused after a rebalance", partition=str(partition))
        return count

    async def handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        with structlog.contextvars.bound_contextvars(
            topic=record.topic, partition=record.partition, offset=record.offset
        ):
            try:
                event = decode(record.value, record.headers)
            except PoisonRecord as error:
                await self._dead_letter(record, error, attempts=1)
                return
            handler = self.routes.get(type(event))
            if handler is None:
                self.stats.skipped += 1
                return
            with structlog.contextvars.bound_contextvars(
                event_id=event.event_id,
                event_type=event.event_type,
                correlation_id=event.correlation_id,
            ):
                await self._handle_with_retries(record, event, handler)

    async def _handle_with_retries(
        self, record: ConsumerRecord[bytes, bytes], event: Event, handler: Handler
    ) -> None:
        for attempt in range(1, self.retry.attempts + 1):
            try:
                produced = await handler(event) or ()
                await self.publisher.publish_all(produced)
            except Exception as error:
                if attempt == self.retry.attempts:
                    await self._dead_letter(record, error, attempts=attempt)
                    return
                self.stats.retries += 1
                log.warning("handler failed; will retry", attempt=attempt, error_class=type(error).__name__)
                await asyncio.sleep(self.retry.backoff_s(attempt))
            else:
                self.stats.handled += 1
                return

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException, *, attempts: int
    ) -> None:
        target = dlq_topic(record.topic)
        await self.publisher.publish_raw(
            target,
            key=record.key,
            value=record.value,
            headers=dead_letter_headers(record, error=error, attempts=attempts, group_id=self.group_id),
        )
        self.stats.dead_lettered += 1
        name = type(error).__name__
        self.stats.by_error[name] = self.stats.by_error.get(name, 0) + 1
        log.error("record dead-lettered", dlq_topic=target, attempts=attempts, error_class=name)
