"""Builds merchant-relay's HTTP app from its settings (nothing is built at import time).

The lifespan opens MongoDB (relay_orders, deliveries, endpoints), relays relay_orders' outbox
(relay.deliveries.v1: OrderForwarded, and the merchant API's OrderShipped / OrderFulfilled) and
the deliveries' (relay.merchant-activity.v1: MerchantDeliveryChanged), runs the statistics table
(stats_stream.py, its own consumer group) and a replica of its changelog for the merchant API,
consumes checkout.orders.v1 as group ``merchant-relay`` (or RELAY_CONSUMER_GROUP) in lanes keyed by
order_id (pipeline.py), and runs the delivery worker's lanes (delivery_worker.py) with the vault client
(its own service tokens, scope shipping:read), the merchant topics' publisher and the webhook
sender. The routers of ``routes.ROUTERS`` (the merchant API, delivery statistics) are served
beside /healthz.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from buybutton.kafka.table_replica import TableReplica
from buybutton.runtime import ServiceRuntime
from buybutton.service import service_app
from buybutton.service_tokens import ServiceTokens
from buybutton.topics import MERCHANT_STATS
from buybutton.unit_of_work import MongoAggregateStore
from merchant_relay import deliveries, endpoints, merchant_orders, relay_orders
from merchant_relay.config import Settings
from merchant_relay.delivery_worker import DeliveryLanes, DeliveryWorker
from merchant_relay.merchant_api import MerchantApi
from merchant_relay.merchant_topic import MerchantTopics
from merchant_relay.pipeline import OrderIntake
from merchant_relay.retry_policy import Backoff
from merchant_relay.routes import ROUTERS
from merchant_relay.stats_stream import build_stats_stream
from merchant_relay.vault_client import VAULT_SCOPES, VaultClient
from merchant_relay.webhook import WebhookSender


def now() -> datetime:
    return datetime.now(UTC)


def backoff_of(settings: Settings) -> Backoff:
    return Backoff(
        base_s=settings.backoff_base_s,
        cap_s=settings.backoff_cap_s,
        retry_after_cap_s=settings.retry_after_cap_s,
        horizon_s=settings.horizon_s,
    )


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ServiceRuntime(settings) as runtime:  # stops whatever started, also after a failed start
            db = runtime.database()
            orders = MongoAggregateStore(db[relay_orders.COLLECTION])
            app.state.deliveries = store = deliveries.Deliveries(
                db[deliveries.COLLECTION], owner=f"{settings.service_name}-{uuid.uuid4().hex[:12]}"
            )
            await asyncio.to_thread(store.ensure_indexes)
            tokens = ServiceTokens(
                settings.service_signing_key.get_secret_value(),
                issuer=settings.service_name,
                audience_scopes=VAULT_SCOPES,
            )
            vault = VaultClient(settings.vault_url, tokens.header, timeout_s=settings.vault_timeout_s)
            await runtime.started(vault, vault.start)
            topics = MerchantTopics(
                await runtime.publisher(),
                settings.kafka_bootstrap_servers,
                prefix=settings.topic_prefix,
                replication_factor=settings.replication_factor,
                timeout_s=settings.publish_timeout_s,
            )
            await runtime.started(topics, topics.start)
            sender = WebhookSender(
                timeout_s=settings.attempt_timeout_s, check_addresses=not settings.local_endpoints_allowed
            )
            await runtime.started(sender, sender.start)
            await runtime.outbox_relay(
                [db[relay_orders.COLLECTION], db[deliveries.COLLECTION]],
                idle_interval_s=settings.outbox_idle_s,
            )
            stats = build_stats_stream(
                group_id=settings.stats_group_id,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                client_id=settings.service_name,
                topic_prefix=settings.topic_prefix,
            )
            await runtime.started(stats, lambda: stats.start(settings.stats_start_timeout_s))
            runtime.add_health_check(stats.problem)
            app.state.stats_replica = await runtime.follow(
                TableReplica(
                    settings.kafka_bootstrap_servers,
                    MERCHANT_STATS.named(settings.topic_prefix),
                    client_id=f"{settings.service_name}-stats-replica",
                )
            )
            app.state.delivery_worker = worker = DeliveryWorker(
                deliveries=store,
                orders=orders,
                endpoints=db[endpoints.COLLECTION],
                vault=vault,
                topics=topics,
                sender=sender,
                backoff=backoff_of(settings),
                clock=now,
                lease=timedelta(seconds=settings.lease_s),
                idle_s=settings.delivery_idle_s,
            )
            intake = OrderIntake(orders=orders, deliveries=store, clock=now, on_due=worker.due.poke)
            await runtime.consume(
                intake.routes(),
                lanes=settings.consume_lanes,
                group_id=settings.consumer_group_id,
                consumer_name=settings.service_name,  # its retry topics keep the service's name
            )
            lanes = DeliveryLanes(worker, lanes=settings.delivery_lanes)
            await runtime.started(lanes, lanes.start)
            await asyncio.to_thread(merchant_orders.ensure_indexes, db)
            app.state.merchant_api = MerchantApi.build(db, settings)
            app.state.health_problem = runtime.health_problem
            yield

    app = service_app(settings, lifespan=lifespan)
    for router in ROUTERS:
        app.include_router(router)
    return app
