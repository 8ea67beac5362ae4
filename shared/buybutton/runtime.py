"""The one bootstrap of a service's moving parts: MongoDB clients, event publisher, outbox relay,
consume loops and the rollout rules replica, started in order and stopped in reverse.

A service's lifespan enters ``ServiceRuntime(settings)`` and asks it for what it needs; each
part is registered for stopping the moment it has started, so a start that fails halfway stops
exactly what had started (nothing leaks: no producer, consumer or client left open). Background
tasks (relay, loops, replica) run until the runtime is left, then get the stop signal and are
awaited before the clients they use close. ``health_problem`` answers the first problem any part
reports (a consume loop retrying a transient fault for too long), for ``/healthz``.

Consumes and produces nothing itself; the parts it starts do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar, overload

from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.collection import Collection
from pymongo.database import Database

from buybutton.kafka.consumer import ConsumeLoop, Routes
from buybutton.kafka.producer import EventPublisher
from buybutton.kafka.table_replica import CompactedTopicReader
from buybutton.outbox import OutboxRelay
from buybutton.rollout_replica import RulesReplica
from buybutton.settings import ServiceSettings

HealthCheck = Callable[[], str | None]


class Part(Protocol):
    async def stop(self) -> object: ...


PartT = TypeVar("PartT", bound=Part)
ReplicaT = TypeVar("ReplicaT", bound=RulesReplica)
ReaderT = TypeVar("ReaderT", bound=CompactedTopicReader)


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._exit = AsyncExitStack()
        self._stop = asyncio.Event()
        self._checks: list[HealthCheck] = []
        self._publisher: EventPublisher | None = None
        self._client: MongoClient[dict[str, Any]] | None = None
        self._async_client: AsyncMongoClient[dict[str, Any]] | None = None

    async def __aenter__(self) -> Self:
        await self._exit.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool | None:
        return await self._exit.__aexit__(kind, error, trace)

    # --- parts ---------------------------------------------------------------------------
    def database(self) -> Database[dict[str, Any]]:
        """The service's own database, on one client with the platform's timeouts."""
        if self._client is None:
            self._client = MongoClient(
                self.settings.mongodb_url,
                tz_aware=True,
                timeoutMS=self.settings.mongodb_timeout_ms,
                serverSelectionTimeoutMS=self.settings.mongodb_timeout_ms,
            )
            self._exit.callback(self._client.close)
        return self._client[self.settings.database_name]

    def async_database(self) -> AsyncDatabase[dict[str, Any]]:
        """The same database on pymongo's asyncio client, with the same timeouts: for reads on a
        request's path that should not hop to a worker thread (writes stay on ``database``)."""
        if self._async_client is None:
            self._async_client = AsyncMongoClient(
                self.settings.mongodb_url,
                tz_aware=True,
                timeoutMS=self.settings.mongodb_timeout_ms,
                serverSelectionTimeoutMS=self.settings.mongodb_timeout_ms,
            )
            self._exit.push_async_callback(self._async_client.close)
        return self._async_client[self.settings.database_name]

    async def publisher(self) -> EventPublisher:
        if self._publisher is None:
            self._publisher = await EventPublisher.start(
                self.settings.kafka_bootstrap_servers,
                client_id=self.settings.service_name,
                topic_prefix=self.settings.topic_prefix,
            )
            self._exit.push_async_callback(self._publisher.stop)
        return self._publisher

    async def outbox_relay(self, collections: Sequence[Collection[Any]], **options: Any) -> OutboxRelay:
        """Publish the outboxes of ``collections`` in the background (see buybutton.outbox)."""
        relay = OutboxRelay(collections, await self.publisher(), **options)
        await asyncio.to_thread(relay.ensure_indexes)
        self._background(relay.run(self._stop))
        return relay

    async def consume(self, routes: Routes, *, group_id: str | None = None, **options: Any) -> ConsumeLoop:
        """Run a consume loop over ``routes`` in the background, as the service's consumer group
        or as ``group_id`` (a second group of the same service, such as a worker's)."""
        loop = ConsumeLoop(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=group_id or self.settings.service_name,
            routes=routes,
            publisher=await self.publisher(),
            **options,
        )
        await loop.start()
        self._exit.push_async_callback(loop.stop)
        self._checks.append(loop.problem)
        self._background(loop.run(self._stop))
        return loop

    @overload
    async def rules_replica(self) -> RulesReplica: ...
    @overload
    async def rules_replica(self, replica_type: type[ReplicaT]) -> ReplicaT: ...
    async def rules_replica(self, replica_type: type[RulesReplica] = RulesReplica) -> RulesReplica:
        """The local replica of the rollout rules, following the topic in the background
        (``replica_type``: a RulesReplica with more on top, such as rollout-service's)."""
        replica = replica_type(
            self.settings.kafka_bootstrap_servers,
            client_id=f"{self.settings.service_name}-replica",
            topic_prefix=self.settings.topic_prefix,
        )
        return await self.follow(replica)

    async def follow(self, reader: ReaderT) -> ReaderT:
        """Start a local copy of a compacted topic and follow the topic in the background."""
        await reader.start()
        self._exit.push_async_callback(reader.stop)
        self._background(reader.run(self._stop))
        return reader

    async def started(self, part: PartT, start: Callable[[], Awaitable[object]]) -> PartT:
        """Any other part: ``start()`` it now, and ``part.stop()`` it on the way out, before
        everything started earlier."""
        await start()
        self._exit.push_async_callback(part.stop)
        return part

    def add_health_check(self, check: HealthCheck) -> None:
        self._checks.append(check)

    def health_problem(self) -> str | None:
        for check in self._checks:
            problem = check()
            if problem:
                return problem
        return None

    # --- background ------------------------------------------------------------------------
    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` until the runtime is left. Its stop is registered after the parts it
        uses, so on the way out it is stopped and awaited before any of them closes."""
        task = asyncio.create_task(work)

        async def stop_and_wait() -> None:
            self._stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self._exit.push_async_callback(stop_and_wait)
