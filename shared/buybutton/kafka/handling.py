"""What the consume loop does with one record, until it is settled: handled, skipped (a type the
group does not route, seen on the header before validation) or dead-lettered.

Unreadable records go to the group's DLQ at once; a domain error after ``RetryPolicy.attempts``;
a transient failure (``buybutton.faults.is_transient``, an attempt over its timeout included) is
retried without limit with capped, jittered backoff and never dead-lettered, while ``outages``
says, per lane (the records of one key in a loop with lanes; the one lane otherwise), what is
being retried and since when. A stop, or the partition handed over in a rebalance,
ends the retrying at once with ``Abandoned``: the record stays uncommitted. A handler that
returns anything fails with ``HandlerReturnedValue``, a domain error, so nothing it meant to
publish is lost in silence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TypeAlias

import structlog
from aiokafka.structs import ConsumerRecord

from buybutton.events import Event
from buybutton.faults import is_transient
from buybutton.kafka.attempt import Abandoned, attempt
from buybutton.kafka.codec import PoisonRecord, decode
from buybutton.kafka.dead_letters import dead_letter_headers
from buybutton.kafka.producer import EventPublisher
from buybutton.kafka.rebalance import Progress
from buybutton.kafka.retry import Outage, RetryPolicy, pause
from buybutton.kafka.routing import Handler, RoutingTable

Record: TypeAlias = ConsumerRecord[bytes, bytes]
log = structlog.get_logger(__name__)


class HandlerReturnedValue(TypeError):
    """A handler returned something: whatever it meant to publish would be lost."""


@dataclass
class LoopStats:
    handled: int = 0
    skipped_unrouted: int = 0
    transient_retries: int = 0
    domain_retries: int = 0
    dead_lettered: int = 0
    abandoned: int = 0
    by_error: dict[str, int] = field(default_factory=dict)


class RecordHandling:
    def __init__(
        self,
        routing: RoutingTable,
        publisher: EventPublisher,
        retry: RetryPolicy,
        *,
        group_id: str,
        stopping: asyncio.Event,
        progress: Progress,
    ) -> None:
        self.routing = routing
        self.publisher = publisher
        self.retry = retry
        self.group_id = group_id
        self.stopping = stopping
        self.progress = progress
        self.stats = LoopStats()
        self.outages: dict[Hashable, Outage] = {}

    @property
    def outage(self) -> Outage | None:
        """The longest outage of any lane, if one is being retried."""
        return min(self.outages.values(), key=lambda outage: outage.since, default=None)

    def interrupted(self) -> bool:
        return self.stopping.is_set() or self.progress.revoking.is_set()

    async def _wait_to_retry(self, failures: int, cause: BaseException) -> None:
        if self.interrupted() or await pause(
            self.retry.jittered_backoff_s(failures), self.stopping, self.progress.revoking
        ):
            raise Abandoned("stopping, or the partition handed over, before a retry") from cause

    async def settle(self, record: Record, lane: Hashable = 0) -> None:
        """Settle ``record``; concurrent calls each name their own ``lane``."""
        try:
            with structlog.contextvars.bound_contextvars(
                topic=record.topic, partition=record.partition, offset=record.offset
            ):
                await self._settle(record, lane)
        finally:
            self.outages.pop(lane, None)

    async def _settle(self, record: Record, lane: Hashable) -> None:
        if self.routing.skips_unread(record.headers):
            self.stats.skipped_unrouted += 1
            return
        try:
            event = decode(record.value, record.headers)
            handler = self.routing.handler_for(event)
        except PoisonRecord as error:
            await self._dead_letter(record, lane, error, attempts=1)
            return
        if handler is None:
            self.stats.skipped_unrouted += 1
            return
        with structlog.contextvars.bound_contextvars(
            event_id=event.event_id, event_type=event.event_type, correlation_id=event.correlation_id
        ):
            await self._handle(record, lane, event, handler)

    async def _handle(self, record: Record, lane: Hashable, event: Event, handler: Handler) -> None:
        domain_failures = transient_failures = 0
        while True:
            try:
                result = await attempt(
                    lambda: handler(event), timeout_s=self.retry.attempt_timeout_s, stopping=self.stopping
                )
                if result is not None:
                    raise HandlerReturnedValue(f"handler returned {type(result).__name__}, not None")
            except Abandoned:
                raise
            except Exception as error:
                transient = is_transient(error)
                if transient:
                    transient_failures += 1
                    self.stats.transient_retries += 1
                    self._note_outage(record, lane, error)
                else:
                    domain_failures += 1
                    if domain_failures >= self.retry.attempts:
                        await self._dead_letter(record, lane, error, attempts=domain_failures)
                        return
                    self.stats.domain_retries += 1
                failures = transient_failures if transient else domain_failures
                log.warning(
                    "handler failed; will retry",
                    transient=transient,
                    failures=failures,
                    error_class=type(error).__name__,
                )
                await self._wait_to_retry(failures, error)
            else:
                self.stats.handled += 1
                return

    def _note_outage(self, record: Record, lane: Hashable, error: BaseException) -> None:
        ongoing = self.outages.get(lane)
        since = ongoing.since if ongoing else time.monotonic()
        self.outages[lane] = Outage(type(error).__name__, record.topic, record.partition, since)

    async def _dead_letter(
        self, record: Record, lane: Hashable, error: BaseException, *, attempts: int
    ) -> None:
        """Copy the record to the group's DLQ; a broker away is waited for like any outage."""
        target = self.routing.dead_letter_topic(record.topic)
        headers = dead_letter_headers(
            record,
            error=error,
            attempts=attempts,
            group_id=self.group_id,
            original_topic=self.routing.original_topic[record.topic],
        )
        failures = 0
        while True:
            try:
                await attempt(
                    lambda: self.publisher.publish_raw(
                        target, key=record.key, value=record.value, headers=headers
                    ),
                    timeout_s=self.retry.attempt_timeout_s,
                    stopping=self.stopping,
                )
                break
            except Exception as publish_error:
                if isinstance(publish_error, Abandoned) or not is_transient(publish_error):
                    raise
                failures += 1
                self._note_outage(record, lane, publish_error)
                await self._wait_to_retry(failures, publish_error)
        self.stats.dead_lettered += 1
        name = type(error).__name__
        self.stats.by_error[name] = self.stats.by_error.get(name, 0) + 1
        log.error("record dead-lettered", dlq_topic=target, attempts=attempts, error_class=name)
