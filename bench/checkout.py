"""Checkout's payment path under load: the latency from tapping Buy to PaymentCaptured, and the
highest rate of orders it sustains with nothing lost and nothing charged twice, against a raw
Kafka hop and raw database writes measured in this run on the same broker and server.

vault-service and one checkout-service run as processes (tests/e2e/shop_support.py's shop, on
topics and databases of this run's own), paying at the fake Stripe under a secret key of this
run's own (its counts are this run's alone; the shared fake is never reset as a whole), with
Puddle & Co.'s raincoat on sale. Each order is a new buyer's first purchase: tap Buy, then
confirm with an address and pm_card_visa, remembered. Latency runs from the tap request sent
to the order's PaymentCaptured read from checkout.orders.v1 by the bench's own consumer.

1. open-loop runs at fixed rates, with the fake answering at once, then with every
   PaymentIntent creation delayed (the fake's ``delay_ms`` fault on POST /v1/payment_intents):
   p50/p99 latency, the rate offered and paid;
2. the highest sustained rate: a step-up search, bounded in time (checkout_runs.py says what
   sustained means);
3. baselines: a produce -> consume hop with the platform's settings (kafka_hop.py) and raw
   ``update_one`` writes per second (unit_of_work.py's measurement), before the shop opens;
   each checkout figure is divided by its baseline;
4. where the time goes: each run's median phases (checkout_phases.py), and the Stripe requests
   an order makes.

    make bench-checkout   (with the stack's endpoints in the environment, or the local stack)
    BENCH_CHECKOUT_RATES      fixed rates, orders/s (default 5,10,20)
    BENCH_CHECKOUT_RUN_S      seconds of load per run and per search step (default 8)
    BENCH_CHECKOUT_DELAY_MS   the injected Stripe delay (default 200)
    BENCH_CHECKOUT_SEARCH_FROM / _FACTOR / _S   the search's first rate, step and time budget
                              (default 4, 1.5, 60 s)
    BENCH_CHECKOUT_SLO_MS     p99 a sustained rate keeps within (default 2000)
    BENCH_CHECKOUT_SETTLE_S   how long a run waits for its last captures (default 30)
Writes bench/results/checkout.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from checkout_load import CapturedWatcher
from checkout_report import report
from checkout_runs import Measuring, final_check, measure_run, print_run, step_up
from kafka_hop import measure as kafka_measure
from pymongo import MongoClient
from shop_support import Shop, open_shop, shop_config, stock_events
from unit_of_work import rate, seeded

from buybutton.auth import TokenIssuer, generate_signing_key
from buybutton.kafka.producer import create_producer
from buybutton.topics import CHECKOUT
from devstack.endpoints import Endpoints
from devstack.fake_stripe.client import FakeStripeAdmin
from devstack.topics import registry_topics_under

RESULTS = Path(__file__).parent / "results" / "checkout.json"
STOCK = 1_000_000  # never the limit: the bench measures payments, not selling out


def knob(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_CHECKOUT_{name}", default)


@dataclasses.dataclass(frozen=True)
class Knobs:
    rates: tuple[float, ...]
    run_s: float
    delay_ms: int
    search_from: float
    search_factor: float
    search_s: float
    slo_ms: float
    settle_s: float

    @classmethod
    def from_env(cls) -> Knobs:
        return cls(
            rates=tuple(float(r) for r in knob("RATES", "5,10,20").split(",")),
            run_s=float(knob("RUN_S", "8")),
            delay_ms=int(knob("DELAY_MS", "200")),
            search_from=float(knob("SEARCH_FROM", "4")),
            search_factor=float(knob("SEARCH_FACTOR", "1.5")),
            search_s=float(knob("SEARCH_S", "60")),
            slo_ms=float(knob("SLO_MS", "2000")),
            settle_s=float(knob("SETTLE_S", "30")),
        )


async def kafka_hop_baseline(bootstrap: str) -> dict[str, Any]:
    producer = create_producer(bootstrap, client_id="bench-checkout")
    figures: dict[str, Any] = await kafka_measure(bootstrap, "checkout", producer, 300, 2000)
    return figures


def baselines(bootstrap: str, db: Any) -> dict[str, Any]:
    hop = asyncio.run(kafka_hop_baseline(bootstrap))
    raw, threads = db["raw_writes"], 4
    ids = seeded(raw)

    def write(n: int) -> object:
        return raw.update_one({"_id": ids[n % len(ids)]}, {"$inc": {"stock": 1}})

    return {
        "kafka_hop_ms": hop["hop_latency_ms"],
        "raw_update_one_per_s": {
            "sequential": round(rate(1000, 1, write)),
            f"threads_{threads}": round(rate(1000, threads, write)),
        },
    }


async def measure_shop(shop: Shop, bootstrap: str, prefix: str, orders: Any, k: Knobs) -> dict[str, Any]:
    watcher = await CapturedWatcher.start(bootstrap, CHECKOUT.named(prefix))
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    try:
        async with httpx.AsyncClient(base_url=shop.checkouts[0].url, timeout=30, limits=limits) as http:
            m = Measuring(http, shop, watcher, orders, k.settle_s)
            await measure_run(m, label="warm-up", per_s=5, duration_s=2)
            fixed: dict[str, list[dict[str, Any]]] = {}
            for mode, delay_ms in (("stripe_at_once", 0), (f"stripe_delay_{k.delay_ms}ms", k.delay_ms)):
                print(f"fixed rates, {mode}:")
                if delay_ms:
                    shop.stripe.arm(
                        "delay_ms", path="/v1/payment_intents", method="POST", count=None, delay_ms=delay_ms
                    )
                runs = fixed.setdefault(mode, [])
                for per_s in k.rates:
                    label = f"delay-{per_s:g}/s" if delay_ms else f"at-once-{per_s:g}/s"
                    runs.append(await measure_run(m, label=label, per_s=per_s, duration_s=k.run_s))
                    print_run(runs[-1])
                shop.stripe.clear_faults()
            print("highest sustained rate, Stripe at once:")
            search = await step_up(
                m,
                start_per_s=k.search_from,
                factor=k.search_factor,
                duration_s=k.run_s,
                budget_s=k.search_s,
                slo_ms=k.slo_ms,
            )
            final = await final_check(m, 2 * k.settle_s)
            print(f"every order of the bench: {final}")
    finally:
        await watcher.stop()
    requests = shop.stripe.requests(limit=10_000)
    return {
        "fixed_rates": fixed,
        "search": search,
        "stripe_requests": stripe_endpoints(requests, len(watcher.seen)),
    }


def stripe_endpoints(report: dict[str, Any], paid: int) -> dict[str, Any]:
    """Each endpoint's requests per paid order (since the run began) and mean duration at the fake."""
    durations: dict[str, list[float]] = {}
    for request in report["recent"]:
        durations.setdefault(request["endpoint"], []).append(float(request["duration_ms"]))
    return {
        endpoint: {
            "per_paid_order": round(count / max(paid, 1), 2),
            "mean_ms": round(sum(durations.get(endpoint, [0])) / max(len(durations.get(endpoint, [])), 1), 1),
        }
        for endpoint, count in report["by_endpoint"].items()
    }


@contextlib.contextmanager
def bench_shop(
    endpoints: Endpoints, stripe_url: str, name: str, state_dir: Path
) -> Iterator[tuple[Shop, Any]]:
    """The shop of this run, and checkout's orders collection; dropped, reset, removed after."""
    private, public = generate_signing_key()
    api_key = f"sk_test_{name.replace('-', '_')}"
    webhook_secret = "whsec_" + secrets.token_hex(24)
    config = shop_config(
        endpoints_env=endpoints.as_env(),
        prefix=f"{name}.",
        unique_name=name,
        identity_public_key=public,
        stripe_url=stripe_url,
        stripe_key=api_key,
        webhook_secret=webhook_secret,
        state_dir=state_dir,
    )
    config = dataclasses.replace(config, common={**config.common, "LOG_LEVEL": "WARNING"})
    client: MongoClient[dict[str, Any]] = MongoClient(endpoints.mongodb_url, tz_aware=True)
    databases = (config.checkout["CHECKOUT_MONGODB_DATABASE"], config.vault["VAULT_MONGODB_DATABASE"])
    with (
        FakeStripeAdmin(stripe_url, api_key) as stripe,
        registry_topics_under(endpoints.kafka_bootstrap, f"{name}."),
    ):
        try:
            stock_events(endpoints.kafka_bootstrap, f"{name}.", stock_m=STOCK)
            issuer = TokenIssuer(private)
            with open_shop(config, issuer=issuer, stripe=stripe, webhook_secret=webhook_secret) as shop:
                yield shop, client[databases[0]]["orders"]
        finally:
            stripe.clear_faults()
            stripe.reset()
            for database in databases:
                client.drop_database(database)
            client.close()


def main() -> None:
    k = Knobs.from_env()
    endpoints = Endpoints.from_env()
    stripe_url = os.environ.get("FAKE_STRIPE_API_BASE")
    if endpoints is None or not stripe_url:
        raise SystemExit(
            "needs KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL and FAKE_STRIPE_API_BASE (make bench-checkout)"
        )
    name = f"bench-checkout-{uuid.uuid4().hex[:8]}"
    load_before = os.getloadavg()
    client: MongoClient[dict[str, Any]] = MongoClient(endpoints.mongodb_url)
    try:
        base = baselines(endpoints.kafka_bootstrap, client[f"{name.replace('-', '_')}_raw"])
    finally:
        client.drop_database(f"{name.replace('-', '_')}_raw")
        client.close()
    state_dir = Path(tempfile.mkdtemp(prefix="bench-checkout-"))
    try:
        with bench_shop(endpoints, stripe_url, name, state_dir) as (shop, orders):
            measured = asyncio.run(measure_shop(shop, endpoints.kafka_bootstrap, f"{name}.", orders, k))
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    result = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "knobs": dataclasses.asdict(k),
        "baselines": base,
        **measured,
    }
    result["ratios"] = report(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
