"""Timeline requests per second through tweet-service running as its own process (buyer token
verified, a page of 20 product tweets read from MongoDB, each card built and the rollout gate
decided in-process for that buyer), against GET /healthz of the same process (the HTTP stack's
hello world: no token, no database), measured in this run with the same concurrent client; and,
to show where the time goes, the same page read straight from MongoDB with pymongo, by as many
threads at a time.

    make bench-timeline   (BENCH_TIMELINE_N requests per figure, default 1 000; 8 at a time)
Writes bench/results/timeline.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pymongo import DESCENDING, MongoClient

from buybutton.auth import TokenIssuer, generate_signing_key
from buybutton.events import RolloutChanged
from buybutton.events.examples import MERCHANT, sample_events
from buybutton.kafka.producer import EventPublisher
from devstack.service_process import running_service
from devstack.topics import registry_topics_under

RESULTS = Path(__file__).parent / "results" / "timeline.json"
CONCURRENCY = 8
TWEETS = 20


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


async def requests_per_second(
    http: httpx.AsyncClient, count: int, path: str, headers: list[dict[str, str]]
) -> float:
    todo = iter(range(count))

    async def worker() -> None:
        for n in todo:
            response = await http.get(path, headers=headers[n % len(headers)])
            response.raise_for_status()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - began)


async def publish_rules(bootstrap: str, prefix: str) -> None:
    publisher = await EventPublisher.start(bootstrap, client_id="bench", topic_prefix=prefix)
    try:
        sample = next(e for e in sample_events() if isinstance(e, RolloutChanged))
        await publisher.publish(
            sample.model_copy(update={"percentage_bps": 1_000, "allowed_sellers": [MERCHANT]})
        )
    finally:
        await publisher.stop()


async def measure(url: str, issuer: TokenIssuer, count: int) -> dict[str, float]:
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
        buyers = [
            {
                "Authorization": "Bearer "
                + issuer.mint("buyer", f"buyer-{n}", audience="tweet-service", country="US")
            }
            for n in range(200)
        ]
        page = (await http.get("/v1/timeline", params={"limit": TWEETS}, headers=buyers[0])).json()
        assert len(page["tweets"]) == TWEETS, page
        await requests_per_second(http, 50, "/healthz", [{}])  # warm-up
        return {
            "hello_world_healthz_per_s": await requests_per_second(http, count, "/healthz", [{}]),
            "timeline_page_of_20_per_s": await requests_per_second(
                http, count, f"/v1/timeline?limit={TWEETS}", buyers
            ),
        }


def raw_pages_per_second(mongo_url: str, database: str, count: int) -> float:
    """The timeline's query (newest 20, outbox left out) straight from MongoDB."""
    with MongoClient(mongo_url, tz_aware=True) as client:
        tweets = client[database]["tweets"]

        def page(_: int) -> None:
            found = tweets.find({}, {"outbox": 0, "outbox_pending": 0})
            assert (
                len(list(found.sort([("posted_at", DESCENDING), ("_id", DESCENDING)]).limit(TWEETS)))
                == TWEETS
            )

        began = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(page, range(count)))
        return count / (time.perf_counter() - began)


def main() -> None:
    count = int(os.environ.get("BENCH_TIMELINE_N", "1000"))
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    database = f"bench_timeline_{uuid.uuid4().hex[:8]}"
    private, public = generate_signing_key()
    env = {
        "AUTH_PUBLIC_KEY": public,
        "KAFKA_TOPIC_PREFIX": prefix,
        "TWEET_MONGODB_DATABASE": database,
        "LOG_LEVEL": "WARNING",
    }
    try:
        with registry_topics_under(bootstrap, prefix), running_service("tweet-service", env) as service:
            asyncio.run(publish_rules(bootstrap, prefix))
            figures = asyncio.run(measure(service.url, TokenIssuer(private), count))
            figures["raw_pymongo_page_of_20_per_s"] = raw_pages_per_second(
                os.environ["MONGODB_URL"], database, count
            )
    finally:
        with MongoClient(os.environ["MONGODB_URL"]) as client:
            client.drop_database(database)
    ratio = figures["hello_world_healthz_per_s"] / figures["timeline_page_of_20_per_s"]
    over_raw = figures["raw_pymongo_page_of_20_per_s"] / figures["timeline_page_of_20_per_s"]
    result = {
        "measured_at": datetime.now(UTC).isoformat(),
        "requests": count,
        "concurrency": CONCURRENCY,
        "per_second": {k: round(v) for k, v in figures.items()},
        "timeline_slowdown_vs_hello_world": round(ratio, 2),
        "timeline_slowdown_vs_raw_pymongo_page": round(over_raw, 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, value in result["per_second"].items():
        print(f"{name:40} {value:>8} /s")
    print(f"{'timeline / hello world':40} {ratio:>8.2f} x slower")
    print(f"{'timeline / raw pymongo page':40} {over_raw:>8.2f} x slower")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
