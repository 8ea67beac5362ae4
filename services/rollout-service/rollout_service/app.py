"""Builds rollout-service's HTTP app from its settings (nothing is built at import time).

The lifespan opens MongoDB (the audit trail), the command producer, the rules replica that
answers reads and explanations, and the Faust app whose agent applies commands to the rules
table backed by rollout.rules.v1; it serves once the replica has caught up, and stops them in
the reverse order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from pymongo import MongoClient

from buybutton.kafka.producer import create_producer
from buybutton.service import service_app
from buybutton.topics import ROLLOUT_COMMANDS
from rollout_service.api import router
from rollout_service.audit import AuditTrail
from rollout_service.changes import RuleChanges
from rollout_service.config import Settings
from rollout_service.replica import RulesWatch
from rollout_service.routes import RolloutState
from rollout_service.stream_app import build_rules_stream


async def _follow(replica: RulesWatch, stack: AsyncExitStack) -> None:
    stop = asyncio.Event()
    await replica.start()
    stack.push_async_callback(replica.stop)
    following = asyncio.create_task(replica.run(stop))

    async def _stop_following() -> None:
        stop.set()
        await following

    stack.push_async_callback(_stop_following)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            client: MongoClient[dict[str, object]] = MongoClient(settings.mongodb_url, tz_aware=True)
            stack.callback(client.close)
            audit = AuditTrail(client[settings.database_name])
            await asyncio.to_thread(audit.ensure_indexes)
            producer = create_producer(settings.kafka_bootstrap_servers, client_id=settings.service_name)
            await producer.start()
            stack.push_async_callback(producer.stop)
            replica = RulesWatch(
                settings.kafka_bootstrap_servers,
                client_id=f"{settings.service_name}-replica",
                topic_prefix=settings.topic_prefix,
            )
            await _follow(replica, stack)
            stream = build_rules_stream(settings, audit)
            stack.push_async_callback(stream.stop)
            await stream.start(settings.startup_timeout_s)
            app.state.health_problem = stream.problem
            await asyncio.wait_for(replica.caught_up.wait(), settings.startup_timeout_s)
            changes = RuleChanges(
                producer,
                replica,
                audit,
                topic=ROLLOUT_COMMANDS.named(settings.topic_prefix),
                timeout_s=settings.command_timeout_s,
            )
            app.state.rollout = RolloutState(replica, changes, audit)
            app.state.rules_stream = stream
            yield

    app = service_app(settings, lifespan=lifespan)
    app.include_router(router)
    return app
