"""The measured runs of bench/relay.py, on a RelayBench that is open (relay_setup.py).

- ``raw_posts``: the baseline. The same receiver, the same body size (a real ``order.paid``
  message), the same concurrency as the relay's delivery lanes and the same httpx client
  settings as the relay's webhook sender; each request signed ahead, outside the timing, with a
  webhook-id of its own, so the receiver verifies and keeps every one as it does the relay's.
- ``burst``: N paid orders' BuyClicked + PaymentCaptured published at once to checkout's topic;
  delivered/s from the first publish to the last webhook received (consume, unit of work,
  delivery and attempt together).
- ``drain``: the same N deliveries put back to pending and due at once (as the relay's own
  ``ensure`` writes them, nothing reached yet), the receiver's record cleared; delivered/s from
  that write to the last webhook received: the delivery path alone (claim, relay order and
  endpoint reads, vault read, message, topic publish, signing, POST, outcome writes). The
  orders are already ``forwarded``, so the one write that differs from a first delivery is
  that OrderForwarded is not emitted again.
- ``fixed_rate``: M orders' BuyClicked published first (and consumed by the relay), then their
  PaymentCaptured at a fixed rate, open loop; latency from each PaymentCaptured acknowledged on
  the topic to the receiver's arrival.

Each relay run also reports the attempts its deliveries took (a vault read that raced the
vault's view of the payment is a failed attempt, retried), the CPU each process spent per
delivery and the database server's operations per delivery (its opcounters).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from kafka_hop import percentile
from relay_setup import RelayBench
from relay_support import ADDRESS, paid_order_events
from timeline_breakdown import cpu_seconds, local_stack_pids

from buybutton.events import Event
from buybutton.kafka.producer import EventPublisher
from buybutton.unit_of_work import Aggregate
from merchant_relay import relay_orders
from merchant_relay.payload import message_for
from merchant_relay.webhook import signed_headers

Orders = list[tuple[str, str]]  # (order_id, buyer_id)
SHIPPING = {"shipping_address": {**ADDRESS, "line2": ""}, "contact_email": None}  # as the vault answers


def new_orders(tag: str, count: int) -> Orders:
    return [(f"order-{tag}-{n:05d}", f"buyer-{tag}-{n:05d}") for n in range(count)]


def paid_relay_order(order_id: str, buyer_id: str) -> dict[str, Any]:
    """The relay order of one of the bench's orders once paid, decided by the relay's own code."""
    clicked, captured = paid_order_events(order_id, buyer_id)
    opened = relay_orders.clicked(clicked)(Aggregate(order_id, None))
    assert opened is not None
    paid = relay_orders.paid(captured)(Aggregate(order_id, opened.state))
    assert paid is not None
    return dict(paid.state)


def order_paid_body(relay_order: dict[str, Any]) -> str:
    """The message the relay sends for a paid relay order, with the address the vault keeps."""
    body: str = message_for("order.paid", relay_order, SHIPPING, now=datetime.now(UTC)).model_dump_json()
    return body


async def raw_posts(url: str, secret: str, body: str, count: int, concurrency: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    requests = [signed_headers([secret], f"msg_raw_{n:06d}", now, body) for n in range(count)]
    content, statuses = body.encode(), dict[int, int]()
    queue = iter(requests)
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:

        async def lane() -> None:
            for headers in queue:
                response = await http.post(url, content=content, headers=headers)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await http.post(url, content=content, headers=requests[0])  # connection made, not counted
        began = time.monotonic()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    return {
        "posts": count,
        "concurrency": concurrency,
        "posts_per_s": round(count / elapsed, 1),
        "statuses": {str(k): v for k, v in statuses.items()},
        "body_bytes": len(content),
    }


def cpu_now(bench: RelayBench) -> dict[str, float | None]:
    return {
        "merchant-relay": cpu_seconds(bench.relay.process.pid),
        "vault-service": cpu_seconds(bench.vault.process.pid),
        "receiver": cpu_seconds(bench.receiver.process.pid),
        "bench": time.process_time(),
        **{role: cpu_seconds(pid) for role, pid in local_stack_pids().items()},
    }


def cpu_ms_per(
    before: dict[str, float | None], after: dict[str, float | None], count: int
) -> dict[str, float]:
    spent = {name: (start, after[name]) for name, start in before.items()}
    return {
        name: round((end - start) * 1000 / count, 2)
        for name, (start, end) in spent.items()
        if start is not None and end is not None
    }


def db_operations(bench: RelayBench) -> dict[str, int]:
    """The database server's operation counters so far: by kind (serverStatus opcounters) and
    by collection of this run's databases (the ``top`` command), where the server has them."""
    admin = bench.relay_db.client.admin
    counters = {name: int(n) for name, n in admin.command("serverStatus").get("opcounters", {}).items()}
    try:
        totals = admin.command("top").get("totals", {})
    except Exception:  # a server without ``top``: the kinds alone
        totals = {}
    base = bench.prefix.rstrip(".").replace("-", "_")[:40] + "_"  # databases <base>relay, <base>vault
    for namespace, figures in totals.items():
        if isinstance(figures, dict) and namespace.startswith(base):
            counters[namespace[len(base) :]] = int(figures.get("total", {}).get("count", 0))
    return counters


KINDS = ("insert", "query", "update", "delete", "getmore", "command")


def db_operations_per(before: dict[str, int], after: dict[str, int], count: int) -> dict[str, Any]:
    """Operations per delivery between two counter readings: by kind and in all (every client of
    the server counts: the relay, the vault and the bench's own few reads), and by collection."""
    per = {name: round((after.get(name, 0) - n) / count, 2) for name, n in before.items()}
    kinds = {k: per[k] for k in KINDS if per.get(k)}
    collections = {k: v for k, v in sorted(per.items(), key=lambda kv: -kv[1]) if k not in KINDS and v}
    return {**kinds, "all": round(sum(kinds.values()), 2), "by_collection": collections}


async def wait_received(bench: RelayBench, count: int, timeout_s: float) -> dict[str, Any]:
    """The receiver's record once it holds ``count`` webhooks (or the deadline passed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        received = await asyncio.to_thread(bench.receiver.accepted_count)
        if received >= count or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    return await asyncio.to_thread(bench.receiver.received)


def arrivals_by_order(record: dict[str, Any]) -> dict[str, float]:
    return {order_id: at for order_id, at in record["accepted"].values()}


def attempts_of(bench: RelayBench, orders: Orders) -> dict[str, Any]:
    ids = [order_id for order_id, _ in orders]
    deliveries = list(bench.relay_db.deliveries.find({"order_id": {"$in": ids}, "kind": "order.paid"}))
    attempts = [int(d["attempts"]) for d in deliveries]
    return {
        "deliveries": len(deliveries),
        "delivered": sum(d["state"] == "delivered" for d in deliveries),
        "retried": sum(n > 1 for n in attempts),
        "attempts_max": max(attempts, default=0),
    }


def run_figures(bench: RelayBench, orders: Orders, began: float, record: dict[str, Any]) -> dict[str, Any]:
    arrived = arrivals_by_order(record)
    ours = [arrived[o] for o, _ in orders if o in arrived]
    span = (max(ours) - began) if ours else 0.0
    return {
        "orders": len(orders),
        "received": len(ours),
        "missing": len(orders) - len(ours),
        "unverified": record["unverified"],
        "repeats": record["repeats"],
        "body_bytes": record["body_bytes"],
        "delivered_per_s": round(len(ours) / span, 1) if span > 0 else 0.0,
        "seconds": round(span, 2),
        "attempts": attempts_of(bench, orders),
    }


async def publish_orders(bench: RelayBench, events: list[Event]) -> None:
    bootstrap = bench.endpoints.kafka_bootstrap
    publisher = await EventPublisher.start(bootstrap, client_id="bench-relay", topic_prefix=bench.prefix)
    try:
        await publisher.publish_all(events)
    finally:
        await publisher.stop()


async def burst(bench: RelayBench, orders: Orders, settle_s: float) -> dict[str, Any]:
    await asyncio.to_thread(bench.receiver.reset)
    events = [event for order_id, buyer_id in orders for event in paid_order_events(order_id, buyer_id)]
    ops_before, cpu_before, began = db_operations(bench), cpu_now(bench), time.monotonic()
    await publish_orders(bench, events)
    record = await wait_received(bench, len(orders), settle_s)
    figures = run_figures(bench, orders, began, record)
    figures["cpu_ms_per_delivery"] = cpu_ms_per(cpu_before, cpu_now(bench), len(orders))
    figures["db_operations_per_delivery"] = db_operations_per(ops_before, db_operations(bench), len(orders))
    return figures


async def drain(bench: RelayBench, orders: Orders, settle_s: float) -> dict[str, Any]:
    await asyncio.to_thread(bench.receiver.reset)
    now = datetime.now(UTC)
    due = {
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_attempt_at": None,
        "channels": [],
        "lease_owner": None,
    }
    condition = {"order_id": {"$in": [o for o, _ in orders]}, "kind": "order.paid"}
    ops_before, cpu_before, began = db_operations(bench), cpu_now(bench), time.monotonic()
    reset = {"$set": due, "$unset": {"first_attempt_at": ""}}
    await asyncio.to_thread(bench.relay_db.deliveries.update_many, condition, reset)
    record = await wait_received(bench, len(orders), settle_s)
    figures = run_figures(bench, orders, began, record)
    figures["cpu_ms_per_delivery"] = cpu_ms_per(cpu_before, cpu_now(bench), len(orders))
    figures["db_operations_per_delivery"] = db_operations_per(ops_before, db_operations(bench), len(orders))
    return figures


async def fixed_rate(bench: RelayBench, orders: Orders, per_s: float, settle_s: float) -> dict[str, Any]:
    await asyncio.to_thread(bench.receiver.reset)
    pairs = [paid_order_events(order_id, buyer_id) for order_id, buyer_id in orders]
    await publish_orders(bench, [clicked for clicked, _ in pairs])
    ids = [o for o, _ in orders]
    deadline = time.monotonic() + settle_s
    while bench.relay_db.relay_orders.count_documents({"_id": {"$in": ids}}) < len(ids):
        assert time.monotonic() < deadline, "the relay did not consume the fixed-rate run's BuyClicked"
        await asyncio.sleep(0.2)
    on_topic: dict[str, float] = {}
    publisher = await EventPublisher.start(
        bench.endpoints.kafka_bootstrap, client_id="bench-relay-rate", topic_prefix=bench.prefix
    )

    async def publish_at(order_id: str, event: Event, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        await publisher.publish(event)
        on_topic[order_id] = time.monotonic()

    ops_before, cpu_before, began = db_operations(bench), cpu_now(bench), time.monotonic()
    try:
        await asyncio.gather(
            *(
                publish_at(o, paid, began + n / per_s)
                for n, (o, (_, paid)) in enumerate(zip(ids, pairs, strict=True))
            )
        )
    finally:
        await publisher.stop()
    offered_s = max(on_topic.values()) - began
    record = await wait_received(bench, len(orders), settle_s)
    arrived = arrivals_by_order(record)
    latencies = [(arrived[o] - on_topic[o]) * 1000 for o in ids if o in arrived]
    figures = run_figures(bench, orders, began, record)
    figures.pop("delivered_per_s")
    figures.update(
        target_per_s=per_s,
        offered_per_s=round(len(orders) / offered_s, 2) if offered_s > 0 else None,
        latency_ms={
            "p50": round(percentile(latencies, 0.5), 1) if latencies else None,
            "p99": round(percentile(latencies, 0.99), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
        },
        cpu_ms_per_delivery=cpu_ms_per(cpu_before, cpu_now(bench), len(orders)),
        db_operations_per_delivery=db_operations_per(ops_before, db_operations(bench), len(orders)),
    )
    return figures
