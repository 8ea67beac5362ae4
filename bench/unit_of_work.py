"""Unit-of-work throughput: commits per second through MongoAggregateStore (read, decide, one
conditional write carrying the state, an outbox entry and the inbox mark) against raw
``update_one`` ``$inc`` on the same documents, both measured in this run on the same server,
sequentially and from several threads; then the outbox relay's publishing rate for what was
committed.

A commit costs a read and a conditional write (two round trips) against one for the raw
update, plus building and validating the event; the figure to watch is the ratio.

    make bench-uow      (BENCH_UOW_N commits per figure, default 2000; BENCH_UOW_THREADS, 4)
Writes bench/results/unit-of-work.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection

from buybutton.events import ProductRestocked
from buybutton.kafka.producer import EventPublisher
from buybutton.outbox import OutboxRelay
from buybutton.unit_of_work import Aggregate, Change, MongoAggregateStore
from devstack.topics import registry_topics_under

RESULTS = Path(__file__).parent / "results" / "unit-of-work.json"
AGGREGATES = 50


def restocked(tweet: Aggregate) -> Change:
    stock = (tweet.state or {}).get("stock", 0) + 1
    event = ProductRestocked(
        tweet_id=tweet.id,
        correlation_id=tweet.id,
        producer="bench",
        merchant_id="merchant-bench",
        product_id="product-bench",
        variant_id="sku-1",
        units_added=1,
    )
    return Change({"merchant_id": "merchant-bench", "stock": stock}, [event])


def rate(count: int, threads: int, operation: Callable[[int], object]) -> float:
    began = time.perf_counter()
    if threads == 1:
        for n in range(count):
            operation(n)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(operation, range(count)))
    return count / (time.perf_counter() - began)


def seeded(collection: Collection[dict[str, Any]]) -> list[str]:
    ids = [f"tweet-bench-{n}" for n in range(AGGREGATES)]
    collection.insert_many([{"_id": i, "merchant_id": "merchant-bench", "stock": 0} for i in ids])
    return ids


def measure(db: Any, count: int, threads: int) -> dict[str, float]:
    raw, uow = db[f"raw_{threads}"], db[f"uow_{threads}"]
    raw_ids, uow_ids = seeded(raw), seeded(uow)
    store = MongoAggregateStore(uow)
    raw_rate = rate(
        count, threads, lambda n: raw.update_one({"_id": raw_ids[n % AGGREGATES]}, {"$inc": {"stock": 1}})
    )

    def commit(n: int) -> object:
        return store.apply(uow_ids[n % AGGREGATES], restocked, cause=f"bench-{threads}-{n}")

    uow_rate = rate(count, threads, commit)
    kept = sum(d["stock"] for d in uow.find({}, {"stock": 1}))
    assert kept == count, f"{count - kept} commits lost"
    return {"raw_update_one_per_s": raw_rate, "uow_commits_per_s": uow_rate, "ratio": raw_rate / uow_rate}


async def relay_rate(db: Any, bootstrap: str, prefix: str) -> float:
    publisher = await EventPublisher.start(bootstrap, client_id="bench-uow", topic_prefix=prefix)
    try:
        relay = OutboxRelay([db["uow_1"]], publisher)
        await asyncio.to_thread(relay.ensure_indexes)
        began, sent = time.perf_counter(), 0
        while batch := await relay.relay_once():
            sent += batch
        return sent / (time.perf_counter() - began)
    finally:
        await publisher.stop()


def main() -> None:
    count = int(os.environ.get("BENCH_UOW_N", "2000"))
    threads = int(os.environ.get("BENCH_UOW_THREADS", "4"))
    bootstrap, url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["MONGODB_URL"]
    client: MongoClient[dict[str, Any]] = MongoClient(url, tz_aware=True)
    name = f"bench_uow_{uuid.uuid4().hex[:8]}"
    db = client[name]
    try:
        figures: dict[str, Any] = {"commits": count, "aggregates": AGGREGATES}
        figures["sequential"] = measure(db, count, 1)
        figures[f"threads_{threads}"] = measure(db, count, threads)
        with registry_topics_under(bootstrap, f"{name}.") as prefix:
            figures["relay_events_per_s"] = asyncio.run(relay_rate(db, bootstrap, prefix))
    finally:
        client.drop_database(name)
        client.close()
    print(f"unit of work, {count} commits over {AGGREGATES} aggregates:")
    for label in ("sequential", f"threads_{threads}"):
        f = figures[label]
        print(
            f"  {label:<12} raw update_one {f['raw_update_one_per_s']:8.0f}/s   "
            f"unit of work {f['uow_commits_per_s']:8.0f}/s   ratio {f['ratio']:.2f}x"
        )
    print(f"  relay: {figures['relay_events_per_s']:.0f} events/s published and removed from the outboxes")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
