"""Handing partitions over in a rebalance without losing or forking a record.

``Progress`` is what the consume loop has handled in the current batch but not committed yet,
and whether a batch is under way. ``HandOver`` is the rebalance listener: when partitions are
revoked it stops the loop from starting any further record of the batch (a record waiting
between retries is woken and abandoned), then waits, for at most the grace, until the loop has
finished its record in flight and committed what it completed; only then may the group hand
the partitions to their next owner. A record still in flight after the grace is abandoned
uncommitted: the listener commits what was completed before it, its next owner handles it again
(handlers deduplicate by event_id), and nothing after it is handled here. aiokafka rebalances
eagerly, so a revocation takes every partition of the member; the loop then reads from the
committed offsets of its new assignment, and records fetched before are never handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

log = structlog.get_logger(__name__)
Commit = Callable[[dict[TopicPartition, int]], Awaitable[None]]


class Progress:
    def __init__(self) -> None:
        self.uncommitted: dict[TopicPartition, int] = {}
        self.idle = asyncio.Event()
        self.idle.set()
        self.revoking = asyncio.Event()
        self.sealed = False  # after a hand-over: nothing more of this batch counts as done

    def begin_batch(self) -> None:
        self.revoking = asyncio.Event()
        self.sealed = False
        self.idle.clear()

    def handled(self, partition: TopicPartition, offset: int) -> None:
        if not self.sealed:
            self.uncommitted[partition] = offset + 1

    def take(self) -> dict[TopicPartition, int]:
        taken, self.uncommitted = self.uncommitted, {}
        return taken


class HandOver(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, progress: Progress, commit: Commit, *, grace_s: float) -> None:
        self.progress = progress
        self.commit = commit
        self.grace_s = grace_s
        self.handed_over = 0
        self.abandoned_in_flight = 0
        self.uncommitted_at_revocation = 0  # partitions a hand-over without a commit would repeat

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        progress = self.progress
        if not revoked:
            return  # the first join: nothing to hand over
        self.handed_over += 1
        self.uncommitted_at_revocation += len(progress.uncommitted)
        progress.revoking.set()
        try:
            await asyncio.wait_for(progress.idle.wait(), self.grace_s)
        except TimeoutError:
            self.abandoned_in_flight += 1
            log.warning("record still in flight at hand-over; abandoned uncommitted", grace_s=self.grace_s)
        progress.sealed = True
        completed = progress.take()  # empty unless the grace ran out: the loop commits its batch
        if not completed:
            return
        try:
            await self.commit(completed)
        except (KafkaError, TimeoutError) as error:
            # the group moved on without us, or the broker is away: the next owner reads from the last commit
            log.warning("commit at hand-over refused", error_class=type(error).__name__)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions assigned", partitions=len(assigned), topics=sorted({tp.topic for tp in assigned})
        )
