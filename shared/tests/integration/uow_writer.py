"""A writer process for the unit-of-work tests: threads that apply changes to merchant aggregates
through MongoAggregateStore, the way several service instances would.

Each change adds 1 to the merchant's ``saves`` counter and emits one MerchantProfileChanged
whose name carries the new count. With ``--cause`` every apply uses that one cause (a
redelivered event); otherwise each apply is a command without a cause. ConcurrentChange is
retried, as a consume loop would, and counted.

Prints "ready", waits for a line on stdin (so all writers start together), then prints one JSON
line: {"committed", "duplicates", "concurrent_changes"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import Counter
from typing import Any

from pymongo import MongoClient

from buybutton.events import MerchantProfileChanged
from buybutton.unit_of_work import Aggregate, Change, ConcurrentChange, MongoAggregateStore


def profile_saved(aggregate: Aggregate) -> Change:
    saves = int((aggregate.state or {}).get("saves", 0)) + 1
    event = MerchantProfileChanged(
        merchant_id=aggregate.id,
        correlation_id=aggregate.id,
        producer="tweet-service",
        name=f"Puddle & Co. save {saves}",
        stripe_account_id="acct_1Puddle",
        fee_bps=saves % 10_000,
    )
    return Change({"saves": saves}, [event])


def write(store: MongoAggregateStore, merchants: list[str], applies: int, cause: str | None) -> Counter[str]:
    counts: Counter[str] = Counter()
    for n in range(applies):
        merchant = merchants[n % len(merchants)]
        while True:
            try:
                outcome = store.apply(merchant, profile_saved, cause=cause)
                break
            except ConcurrentChange:
                counts["concurrent_changes"] += 1
        counts["committed"] += outcome.committed
        counts["duplicates"] += outcome.duplicate
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mongodb_url")
    parser.add_argument("database")
    parser.add_argument("collection")
    parser.add_argument("merchants", help="comma-separated merchant ids, applied to in turn")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--applies", type=int, default=25, help="per thread")
    parser.add_argument("--cause")
    args = parser.parse_args()
    client: MongoClient[dict[str, Any]] = MongoClient(args.mongodb_url, tz_aware=True)
    store = MongoAggregateStore(client[args.database][args.collection])
    merchants = args.merchants.split(",")
    totals: Counter[str] = Counter()
    lock = threading.Lock()

    def run(offset: int) -> None:
        counts = write(store, merchants[offset:] + merchants[:offset], args.applies, args.cause)
        with lock:
            totals.update(counts)

    threads = [threading.Thread(target=run, args=(n % len(merchants),)) for n in range(args.threads)]
    print("ready", flush=True)
    sys.stdin.readline()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    keys = ("committed", "duplicates", "concurrent_changes")
    print(json.dumps({key: totals[key] for key in keys}), flush=True)


if __name__ == "__main__":
    main()
