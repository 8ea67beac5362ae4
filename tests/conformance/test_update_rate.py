"""``update_one`` by ``_id`` does not slow down as a collection grows: at 20 000 documents it runs
at least half as fast as at 1 000 (a server that scans the collection falls far short). Both
collections are measured in the same test, in alternating batches, so that the machine's load
weighs on both alike; each rate is the median of its batches. Figures: both rates and the ratio.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from figure_book import Figures
from pymongo.collection import Collection
from pymongo.database import Database

SMALL = 1_000
LARGE = 20_000
BATCHES = 5
UPDATES_PER_BATCH = 200
INSERT_BATCH = 5_000


def filled(collection: Collection[dict[str, Any]], count: int) -> Collection[dict[str, Any]]:
    for start in range(0, count, INSERT_BATCH):
        collection.insert_many(
            [
                {"_id": f"buyer-{n:05d}", "taps": 0, "name": f"Buyer {n}", "country": "US"}
                for n in range(start, min(count, start + INSERT_BATCH))
            ]
        )
    return collection


def updates_per_second(collection: Collection[dict[str, Any]], count: int, chooser: random.Random) -> float:
    ids = [f"buyer-{chooser.randrange(count):05d}" for _ in range(UPDATES_PER_BATCH)]
    began = time.perf_counter()
    matched = sum(collection.update_one({"_id": i}, {"$inc": {"taps": 1}}).matched_count for i in ids)
    elapsed = time.perf_counter() - began
    assert matched == UPDATES_PER_BATCH, f"{matched} of {UPDATES_PER_BATCH} updates found their document"
    return UPDATES_PER_BATCH / elapsed


def test_update_by_id_keeps_its_rate_as_the_collection_grows(
    mongo_db: Database[dict[str, Any]], figures: Figures
) -> None:
    small = filled(mongo_db["buyers_small"], SMALL)
    large = filled(mongo_db["buyers_large"], LARGE)
    chooser = random.Random(20_000)
    small_rates, large_rates = [], []
    for _ in range(BATCHES):
        small_rates.append(updates_per_second(small, SMALL, chooser))
        large_rates.append(updates_per_second(large, LARGE, chooser))
    at_small, at_large = statistics.median(small_rates), statistics.median(large_rates)
    ratio = at_large / at_small
    figure = (
        f"update_one by _id: {at_small:.0f}/s at {SMALL} documents, {at_large:.0f}/s at {LARGE} "
        f"(ratio {ratio:.2f}, must be >= 0.50; {BATCHES} batches of {UPDATES_PER_BATCH} each)"
    )
    figures(figure)
    assert ratio >= 0.5, figure
    total = sum(d["taps"] for d in large.find({}, {"taps": 1}))
    assert total == BATCHES * UPDATES_PER_BATCH, f"{figure}; taps kept at {LARGE}: {total}"
