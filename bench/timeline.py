"""Timeline requests per second through tweet-service running as its own process (buyer token
verified, a page of 20 product tweets read from MongoDB, each card built and the rollout gate
decided in-process for that buyer), against GET /healthz of the same process (the HTTP stack's
hello world: no token, no database), measured in this run with the same concurrent client: both
warmed up, then in alternating rounds so that load from elsewhere on the machine falls on both
alike; and the same page read straight from MongoDB with pymongo (the service's query), by as
many threads at a time. Target: the timeline within 2x of hello world.

Where the time goes: the service's CPU per request on each path (and the bench client's), and
each step of the timeline timed in-process one call at a time (bench/timeline_breakdown.py).

    make bench-timeline   (BENCH_TIMELINE_N requests per figure, default 2 000; 8 at a time)
Writes bench/results/timeline.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient
from timeline_breakdown import STEPS, cpu_seconds, steps_ms

from buybutton.auth import TokenIssuer, TokenVerifier, generate_signing_key
from buybutton.events import RolloutChanged
from buybutton.events.examples import MERCHANT, sample_events
from buybutton.kafka.producer import EventPublisher
from devstack.service_process import running_service
from devstack.topics import registry_topics_under
from tweet_service.queries import NEWEST_FIRST, page_filter

RESULTS = Path(__file__).parent / "results" / "timeline.json"
CONCURRENCY = 8
TWEETS = 20
ROUNDS = 4
WARM_UP = 100
RULE = next(e for e in sample_events() if isinstance(e, RolloutChanged)).model_copy(
    update={"percentage_bps": 1_000, "allowed_sellers": [MERCHANT]}
)


@dataclass
class Tally:
    """Requests of one path over every round, with the time and the CPU they took."""

    requests: int = 0
    seconds: float = 0.0
    service_cpu_s: float | None = 0.0
    client_cpu_s: float = 0.0

    def per_second(self) -> float:
        return self.requests / self.seconds

    def service_ms(self) -> float | None:
        return None if self.service_cpu_s is None else self.service_cpu_s / self.requests * 1000

    def client_ms(self) -> float:
        return self.client_cpu_s / self.requests * 1000


def raincoat(n: int) -> dict[str, object]:
    return {
        "text": f"Puddle raincoat no. {n}: stay dry in style.",
        "product": {
            "title": f"Puddle raincoat {n}",
            "description": "Yellow, seam-sealed, with a hood that stays put.",
            "price": {"amount_minor": 4_999, "currency": "USD"},
            "image_urls": ["https://img.example.com/raincoat.jpg"],
            "kind": "physical",
            "variants": [
                {"sku": f"coat-{n}-{size}", "attributes": {"size": size}, "stock": 5} for size in "SML"
            ],
        },
    }


async def send(http: httpx.AsyncClient, count: int, path: str, headers: list[dict[str, str]]) -> None:
    todo = iter(range(count))

    async def worker() -> None:
        for n in todo:
            response = await http.get(path, headers=headers[n % len(headers)])
            response.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def alternate(
    http: httpx.AsyncClient, count: int, paths: dict[str, tuple[str, list[dict[str, str]]]], pid: int
) -> dict[str, Tally]:
    """``count`` requests of each path, in ROUNDS rounds taking the paths in turn."""
    tallies = {name: Tally() for name in paths}
    for path, headers in paths.values():
        await send(http, WARM_UP, path, headers)
    for _ in range(ROUNDS):
        for name, (path, headers) in paths.items():
            tally, service_before, client_before = tallies[name], cpu_seconds(pid), time.process_time()
            began = time.perf_counter()
            await send(http, count // ROUNDS, path, headers)
            tally.seconds += time.perf_counter() - began
            tally.requests += count // ROUNDS
            tally.client_cpu_s += time.process_time() - client_before
            service_after = cpu_seconds(pid)
            if tally.service_cpu_s is None or service_before is None or service_after is None:
                tally.service_cpu_s = None
            else:
                tally.service_cpu_s += service_after - service_before
    return tallies


async def publish_rules(bootstrap: str, prefix: str) -> None:
    publisher = await EventPublisher.start(bootstrap, client_id="bench", topic_prefix=prefix)
    try:
        await publisher.publish(RULE)
    finally:
        await publisher.stop()


def buyer_tokens(issuer: TokenIssuer) -> list[str]:
    return [issuer.mint("buyer", f"buyer-{n}", audience="tweet-service", country="US") for n in range(200)]


async def measure(url: str, issuer: TokenIssuer, tokens: list[str], count: int, pid: int) -> dict[str, Tally]:
    admin = {
        "Authorization": "Bearer "
        + issuer.mint("admin", "bench", audience="tweet-service", scopes=["merchants:write"])
    }
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        merchant = {"merchant_id": MERCHANT, "name": "Puddle & Co.", "stripe_account_id": "acct_1Puddle"}
        (await http.post("/v1/merchants", json=merchant, headers=admin)).raise_for_status()
        key = (await http.post(f"/v1/merchants/{MERCHANT}/api-keys", headers=admin)).json()["api_key"]
        for n in range(TWEETS):
            posted = await http.post(
                f"/v1/merchants/{MERCHANT}/tweets", json=raincoat(n), headers={"X-Api-Key": key}
            )
            posted.raise_for_status()
        buyers = [{"Authorization": f"Bearer {token}"} for token in tokens]
        page = (await http.get("/v1/timeline", params={"limit": TWEETS}, headers=buyers[0])).json()
        assert len(page["tweets"]) == TWEETS, page
        paths: dict[str, tuple[str, list[dict[str, str]]]] = {
            "hello_world_healthz": ("/healthz", [{}]),
            "timeline_page_of_20": (f"/v1/timeline?limit={TWEETS}", buyers),
        }
        return await alternate(http, count, paths, pid)


def raw_pages_per_second(mongo_url: str, database: str, count: int) -> float:
    """The timeline's query (newest 20, whole documents, as TimelineReads asks) straight from MongoDB."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url, tz_aware=True)
    with client:
        tweets = client[database]["tweets"]

        def page(_: int) -> None:
            found = tweets.find(page_filter()).sort(NEWEST_FIRST).limit(TWEETS)
            assert len(list(found)) == TWEETS

        began = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(page, range(count)))
        return count / (time.perf_counter() - began)


def main() -> None:
    count = int(os.environ.get("BENCH_TIMELINE_N", "2000"))
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    mongo_url = os.environ["MONGODB_URL"]
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    database = f"bench_timeline_{uuid.uuid4().hex[:8]}"
    private, public = generate_signing_key()
    issuer = TokenIssuer(private)
    tokens = buyer_tokens(issuer)
    env = {
        "AUTH_PUBLIC_KEY": public,
        "KAFKA_TOPIC_PREFIX": prefix,
        "TWEET_MONGODB_DATABASE": database,
        "LOG_LEVEL": "WARNING",
    }
    try:
        with registry_topics_under(bootstrap, prefix), running_service("tweet-service", env) as service:
            asyncio.run(publish_rules(bootstrap, prefix))
            tallies = asyncio.run(measure(service.url, issuer, tokens, count, service.process.pid))
        raw = raw_pages_per_second(mongo_url, database, count)
        verifier = TokenVerifier(public, audience="tweet-service")
        steps = steps_ms(
            mongo_url=mongo_url,
            database=database,
            verifier=verifier,
            token=tokens[0],
            rule=RULE,
            limit=TWEETS,
        )
    finally:
        cleaner: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
        with cleaner:
            cleaner.drop_database(database)
    report(count, tallies, raw, steps)


def report(count: int, tallies: dict[str, Tally], raw: float, steps: dict[str, float]) -> None:
    hello, timeline = tallies["hello_world_healthz"], tallies["timeline_page_of_20"]
    figures = {f"{name}_per_s": tally.per_second() for name, tally in tallies.items()}
    figures["raw_pymongo_page_of_20_per_s"] = raw
    ratio = hello.per_second() / timeline.per_second()
    over_raw = raw / timeline.per_second()
    cpu = {
        name: {"service_ms": tally.service_ms(), "bench_client_ms": tally.client_ms()}
        for name, tally in tallies.items()
    }
    per_second = {k: round(v) for k, v in figures.items()}
    result = {
        "measured_at": datetime.now(UTC).isoformat(),
        "requests": count,
        "concurrency": CONCURRENCY,
        "rounds": ROUNDS,
        "per_second": per_second,
        "timeline_slowdown_vs_hello_world": round(ratio, 2),
        "timeline_slowdown_vs_raw_pymongo_page": round(over_raw, 2),
        "cpu_per_request": cpu,
        "timeline_steps_in_process_ms": {k: round(v, 3) for k, v in steps.items()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, value in per_second.items():
        print(f"{name:40} {value:>8} /s")
    print(f"{'timeline / hello world':40} {ratio:>8.2f} x slower")
    print(f"{'timeline / raw pymongo page':40} {over_raw:>8.2f} x slower")
    service = {name: tally.service_ms() for name, tally in tallies.items()}
    if None not in service.values():
        print(
            f"CPU per request: service {service['hello_world_healthz']:.2f} ms hello world, "
            f"{service['timeline_page_of_20']:.2f} ms timeline; bench client {hello.client_ms():.2f} ms, "
            f"{timeline.client_ms():.2f} ms"
        )
    print(
        "timeline steps in-process, one call at a time: " + ", ".join(f"{s} {steps[s]:.3f} ms" for s in STEPS)
    )
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
