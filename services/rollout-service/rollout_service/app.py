"""Builds rollout-service's HTTP app from its settings (nothing is built at import time).

The lifespan (buybutton.runtime.ServiceRuntime) opens MongoDB (the audit trail), the command
producer, the rules replica that answers reads and explanations, and the Faust app whose agent
applies commands to the rules table backed by rollout.rules.v1; it serves once the replica has
caught up, and stops them in the reverse order, also after a failed start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from buybutton.kafka.producer import create_producer
from buybutton.runtime import ServiceRuntime
from buybutton.service import service_app
from buybutton.topics import ROLLOUT_COMMANDS
from rollout_service.api import router
from rollout_service.audit import AuditTrail
from rollout_service.changes import RuleChanges
from rollout_service.config import Settings
from rollout_service.replica import RulesWatch
from rollout_service.routes import RolloutState
from rollout_service.stream_app import build_rules_stream


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ServiceRuntime(settings) as runtime:  # stops whatever started, also after a failed start
            audit = AuditTrail(runtime.database())
            await asyncio.to_thread(audit.ensure_indexes)
            producer = create_producer(settings.kafka_bootstrap_servers, client_id=settings.service_name)
            await runtime.started(producer, producer.start)
            replica = await runtime.rules_replica(RulesWatch)
            stream = build_rules_stream(settings, audit)
            await runtime.started(stream, lambda: stream.start(settings.startup_timeout_s))
            runtime.add_health_check(stream.problem)
            app.state.health_problem = runtime.health_problem
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
