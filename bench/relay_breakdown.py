"""Where a delivery's time goes, for bench/relay.py: each step the delivery worker takes, run with
the relay's own code in the bench process against the same vault, broker and database, after
the relay's runs (the relay then idle), with as many steps in flight as the relay has lanes and
the database calls in asyncio's default thread pool, as the worker makes them:

- ``sign``: ``signed_headers`` with one secret (the Standard Webhooks HMAC), CPU only;
- ``message``: the merchant's message built and serialized (``message_for``), CPU only;
- ``vault_read``: ``VaultClient.shipping`` with the relay's own service-token key, for paid
  orders of the run;
- ``topic_publish``: ``MerchantTopics.publish`` to Puddle & Co.'s topic (acks=all, idempotent);
- ``lease_writes``: one delivery's lease writes as the worker makes them (its share of a
  ``DueQueue`` read of due ids, the claim, the settle with the channels reached) on a scratch
  collection of the relay's database;
- ``reads``: the relay order and the endpoint, as each attempt reads them;
- ``raw_update_one``: one raw ``update_one`` of a scratch document, the same way: what one
  write costs the database here and now (``lease_writes`` makes two per delivery).

Each step's rate alone is a ceiling on the relay's deliveries per second; the lowest of them and
the relay's CPU per delivery say where the time goes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from relay_runs import Orders, order_paid_body, paid_relay_order
from relay_setup import RelayBench
from relay_support import PUDDLE, new_secret

from buybutton.kafka.producer import EventPublisher
from buybutton.service_tokens import ServiceTokens
from buybutton.unit_of_work import MongoAggregateStore
from merchant_relay.deliveries import Deliveries
from merchant_relay.delivery_worker import DueQueue
from merchant_relay.endpoints import endpoint_of
from merchant_relay.merchant_topic import MerchantTopics
from merchant_relay.vault_client import VAULT_SCOPES, VaultClient
from merchant_relay.webhook import signed_headers


def cpu_step_us(step: Callable[[], object], count: int) -> float:
    step()
    began = time.perf_counter()
    for _ in range(count):
        step()
    return round((time.perf_counter() - began) / count * 1e6, 1)


async def concurrent_rate(
    step: Callable[[int], Awaitable[object]], count: int, lanes: int
) -> dict[str, float]:
    """``count`` steps, ``lanes`` at a time: steps per second and the mean time of one."""
    numbers = iter(range(count))
    spent: list[float] = []

    async def lane() -> None:
        for n in numbers:
            began = time.perf_counter()
            await step(n)
            spent.append(time.perf_counter() - began)

    await step(count)  # warm: connections, tokens, the topic's metadata
    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(lanes)))
    elapsed = time.perf_counter() - began
    return {"per_s": round(count / elapsed, 1), "mean_ms": round(sum(spent) / len(spent) * 1000, 2)}


async def vault_reads(bench: RelayBench, orders: Orders, count: int) -> dict[str, float]:
    tokens = ServiceTokens(bench.relay_key, issuer="merchant-relay", audience_scopes=VAULT_SCOPES)
    vault = VaultClient(bench.vault.url, tokens.header)
    try:

        async def read(n: int) -> object:
            order_id, buyer_id = orders[n % len(orders)]
            return await vault.shipping(buyer_id, order_id)

        return await concurrent_rate(read, count, bench.lanes)
    finally:
        await vault.stop()


async def topic_publishes(bench: RelayBench, body: str, count: int) -> dict[str, float]:
    bootstrap = bench.endpoints.kafka_bootstrap
    publisher = await EventPublisher.start(
        bootstrap, client_id="bench-relay-topic", topic_prefix=bench.prefix
    )
    topics = MerchantTopics(publisher, bootstrap, prefix=bench.prefix, replication_factor=1, timeout_s=10)
    await topics.start()
    try:

        async def publish(n: int) -> None:
            await topics.publish(PUDDLE, f"order-breakdown-{n}", f"msg_breakdown_{n}", "order.paid", body)

        return await concurrent_rate(publish, count, bench.lanes)
    finally:
        await topics.stop()
        await publisher.stop()


async def lease_writes(bench: RelayBench, count: int) -> dict[str, float]:
    scratch = bench.relay_db["bench_lease_writes"]
    store = Deliveries(scratch, owner="bench-relay")
    now = datetime.now(UTC)
    for n in range(count + 1):
        store.ensure(f"order-lease-{n:05d}", PUDDLE, "order.paid", now=now)

    due = DueQueue(store, lambda: datetime.now(UTC))

    async def one_delivery(_: int) -> None:
        claim = await due.claim(timedelta(seconds=60))
        assert claim is not None
        reached = {"topic", "webhook"}
        await asyncio.to_thread(
            store.settle, claim, "delivered", status="200", now=datetime.now(UTC), reached=reached
        )

    try:
        return await concurrent_rate(one_delivery, count, bench.lanes)
    finally:
        scratch.drop()


async def reads(bench: RelayBench, orders: Orders, count: int) -> dict[str, float]:
    relay_orders = MongoAggregateStore(bench.relay_db["relay_orders"])

    def read(n: int) -> None:
        relay_orders.load(orders[n % len(orders)][0])
        endpoint_of(bench.relay_db["endpoints"], PUDDLE, now=datetime.now(UTC))

    return await concurrent_rate(lambda n: asyncio.to_thread(read, n), count, bench.lanes)


async def raw_update_one(bench: RelayBench, count: int) -> dict[str, float]:
    scratch = bench.relay_db["bench_raw_writes"]
    scratch.insert_many([{"_id": n, "writes": 0} for n in range(bench.lanes)])

    def write(n: int) -> object:
        return scratch.update_one({"_id": n % bench.lanes}, {"$inc": {"writes": 1}})

    try:
        return await concurrent_rate(lambda n: asyncio.to_thread(write, n), count, bench.lanes)
    finally:
        scratch.drop()


async def breakdown(bench: RelayBench, orders: Orders, count: int) -> dict[str, Any]:
    relay_order = paid_relay_order(*orders[0])
    body = order_paid_body(relay_order)
    secret, signed_at = new_secret(), datetime.now(UTC)
    steps: dict[str, Any] = {
        "sign_us": cpu_step_us(lambda: signed_headers([secret], "msg_breakdown", signed_at, body), 2000),
        "message_us": cpu_step_us(lambda: order_paid_body(relay_order), 2000),
        "vault_read": await vault_reads(bench, orders, count),
        "topic_publish": await topic_publishes(bench, body, count),
        "lease_writes": await lease_writes(bench, count),
        "reads": await reads(bench, orders, count),
        "raw_update_one": await raw_update_one(bench, count),
    }
    return steps
