"""merchant-relay's delivery path: signed webhooks delivered per second to a local receiver
against raw HTTP POSTs per second to the same receiver, in the same run (target: at least half),
and the latency from an order's PaymentCaptured on checkout's topic to the merchant's receiver.

vault-service and merchant-relay run as processes on topics and databases of this run's own,
and the merchant's receiver in a process of its own (relay_setup.py, relay_receiver.py); the
runs are relay_runs.py's, in this order:

1. a warm-up burst (not counted), then raw POSTs (the baseline), then a burst of
   BURST_N paid orders published at once (consume + delivery), then the same deliveries
   drained again from the database (the delivery path alone), then raw POSTs again: the load
   of the shared machine moves, so the baseline brackets the relay's runs;
2. RATE orders/s for RATE_S seconds, open loop: PaymentCaptured-on-the-topic to arrival,
   p50/p99;
3. where the time goes: each step of an attempt alone (relay_breakdown.py) and the CPU each
   process spent per delivery.

    make bench-relay   (with the stack's endpoints in the environment, or the local stack)
    BENCH_RELAY_RAW_N      raw POSTs per baseline (default 2000)
    BENCH_RELAY_BURST_N    orders of the burst and the drain (default 300)
    BENCH_RELAY_RATE / _RATE_S   the fixed rate, orders/s, and for how long (default 5, 12)
    BENCH_RELAY_LANES      the relay's delivery lanes, and the baseline's concurrency (default 16)
    BENCH_RELAY_STEP_N     calls per step of the breakdown (default 400)
    BENCH_RELAY_SETTLE_S   how long a run waits for its last webhook (default 60)
Writes bench/results/relay.json.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import platform
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relay_breakdown import breakdown
from relay_report import report
from relay_runs import burst, drain, fixed_rate, new_orders, order_paid_body, paid_relay_order, raw_posts
from relay_setup import RelayBench, relay_bench

from devstack.endpoints import Endpoints

RESULTS = Path(__file__).parent / "results" / "relay.json"


def knob(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_RELAY_{name}", default)


@dataclasses.dataclass(frozen=True)
class Knobs:
    raw_n: int
    burst_n: int
    rate: float
    rate_s: float
    lanes: int
    step_n: int
    settle_s: float

    @classmethod
    def from_env(cls) -> Knobs:
        return cls(
            raw_n=int(knob("RAW_N", "2000")),
            burst_n=int(knob("BURST_N", "300")),
            rate=float(knob("RATE", "5")),
            rate_s=float(knob("RATE_S", "12")),
            lanes=int(knob("LANES", "16")),
            step_n=int(knob("STEP_N", "400")),
            settle_s=float(knob("SETTLE_S", "60")),
        )


async def measure(bench: RelayBench, secret: str, k: Knobs) -> dict[str, Any]:
    warm, burst_orders = new_orders("warm", 20), new_orders("burst", k.burst_n)
    rate_orders = new_orders("rate", round(k.rate * k.rate_s))
    await bench.store_addresses(warm + burst_orders + rate_orders)
    body = order_paid_body(paid_relay_order(*burst_orders[0]))
    print("warm-up burst (not counted) ...")
    await burst(bench, warm, k.settle_s)
    raw_before = await raw_posts(bench.receiver.url, secret, body, k.raw_n, k.lanes)
    print(f"raw POSTs: {raw_before['posts_per_s']}/s")
    bursted = await burst(bench, burst_orders, k.settle_s)
    print(f"burst of {k.burst_n} paid orders: {bursted['delivered_per_s']}/s")
    drained = await drain(bench, burst_orders, k.settle_s)
    print(f"the same deliveries drained again: {drained['delivered_per_s']}/s")
    raw_after = await raw_posts(bench.receiver.url, secret, body, k.raw_n, k.lanes)
    print(f"raw POSTs again: {raw_after['posts_per_s']}/s")
    print(f"{k.rate:g} orders/s for {k.rate_s:g} s ...")
    rated = await fixed_rate(bench, rate_orders, k.rate, k.settle_s)
    print("where the time goes ...")
    steps = await breakdown(bench, burst_orders, k.step_n)
    return {
        "raw_posts": {"before": raw_before, "after": raw_after},
        "burst": bursted,
        "drain": drained,
        "fixed_rate": rated,
        "steps": steps,
    }


def main() -> None:
    k = Knobs.from_env()
    endpoints = Endpoints.from_env()
    if endpoints is None:
        raise SystemExit("needs KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL (make bench-relay)")
    load_before = os.getloadavg()
    with relay_bench(endpoints, f"bench-relay-{uuid.uuid4().hex[:8]}", lanes=k.lanes) as (bench, secret):
        measured = asyncio.run(measure(bench, secret, k))
    result = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "knobs": dataclasses.asdict(k),
        **measured,
    }
    result["ratios"] = report(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
