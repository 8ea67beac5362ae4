"""Conditional writes decide races exactly once: the last units of stock, a version that only
one writer may move on, an idempotency key that only one order may carry, a document that only
one relay may claim. Workers are processes with clients of their own (as instances of a
service are); figures: contenders, winners, and what the server stored."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conformance_crowd import Crowd, shares
from conformance_server import Server
from conformance_tasks import (
    buy_each_round,
    claim_batches_until_none_left,
    claim_until_none_left,
    compare_and_set,
    insert_each_key,
)
from figure_book import Figures
from pymongo.database import Database

BUYERS = 50
UNITS = 5
ROUNDS = 10
CAS_ATTEMPTS_PER_WORKER = 75
KEYS = 25
LEASED_DOCUMENTS = 60


def test_fifty_buyers_never_get_more_than_the_five_units(
    server: Server, crowd: Crowd, mongo_db: Database[dict[str, Any]], figures: Figures
) -> None:
    stock = mongo_db["stock"]
    items = [f"raincoat-m-round-{r}" for r in range(ROUNDS)]
    stock.insert_many([{"_id": item, "stock": UNITS} for item in items])
    buyers = iter(f"buyer-{n:02d}" for n in range(BUYERS))
    shares_of_buyers = [[next(buyers) for _ in range(share)] for share in shares(BUYERS, crowd.size)]
    per_worker = crowd.race(
        buy_each_round, [(server.url, mongo_db.name, "stock", items, mine) for mine in shares_of_buyers]
    )
    sold = [sum(len(worker[r]) for worker in per_worker) for r in range(ROUNDS)]
    left = [int((stock.find_one({"_id": item}) or {})["stock"]) for item in items]
    correct = sum(1 for s, stock_left in zip(sold, left, strict=True) if (s, stock_left) == (UNITS, 0))
    figure = (
        f"{BUYERS} buyers in {crowd.size} processes, {UNITS} units, {ROUNDS} rounds: "
        f"rounds correct {correct}/{ROUNDS}; sold per round {sold}; stock left {left}"
    )
    figures(figure)
    assert correct == ROUNDS, figure


def test_only_one_writer_moves_each_version_on(
    server: Server, crowd: Crowd, mongo_db: Database[dict[str, Any]], figures: Figures
) -> None:
    documents = mongo_db["tweets"]
    documents.insert_one({"_id": "tweet-raincoat", "version": 0})
    workers = [f"writer-{n}" for n in range(crowd.size)]
    won = crowd.race(
        compare_and_set,
        [
            (server.url, mongo_db.name, "tweets", "tweet-raincoat", w, CAS_ATTEMPTS_PER_WORKER)
            for w in workers
        ],
    )
    stored = documents.find_one({"_id": "tweet-raincoat"})
    assert stored is not None
    winners_per_version = Counter(version for versions in won for version in versions)
    total_wins = sum(winners_per_version.values())
    attempts = CAS_ATTEMPTS_PER_WORKER * crowd.size
    figure = (
        f"{attempts} compare-and-set attempts from {crowd.size} processes: wins {total_wins}, "
        f"lost to another writer {attempts - total_wins}, final version {stored['version']}, "
        f"versions with two winners {sum(1 for n in winners_per_version.values() if n > 1)}"
    )
    figures(figure)
    assert sorted(winners_per_version.elements()) == list(range(1, stored["version"] + 1)), figure
    last_version_writer = next(
        w for w, versions in zip(workers, won, strict=True) if stored["version"] in versions
    )
    assert stored["written_by"] == last_version_writer, figure


def test_a_unique_key_is_inserted_once_whoever_races_for_it(
    server: Server, crowd: Crowd, mongo_db: Database[dict[str, Any]], figures: Figures
) -> None:
    orders = mongo_db["orders"]
    orders.create_index("idempotency_key", unique=True)
    keys = [f"buy:order-{n:02d}" for n in range(KEYS)]
    inserted = crowd.race(
        insert_each_key,
        [(server.url, mongo_db.name, "orders", keys, f"worker-{n}") for n in range(crowd.size)],
    )
    kept_per_key = [sum(worker[k] for worker in inserted) for k in range(KEYS)]
    stored_per_key = Counter(str(o["idempotency_key"]) for o in orders.find({}, {"idempotency_key": 1}))
    refused = KEYS * crowd.size - sum(kept_per_key)
    figure = (
        f"{KEYS} keys, each inserted by {crowd.size} processes at once: keys inserted exactly once "
        f"{sum(1 for n in kept_per_key if n == 1)}/{KEYS}, DuplicateKeyError {refused}, "
        f"documents stored {sum(stored_per_key.values())}"
    )
    figures(figure)
    assert kept_per_key == [1] * KEYS, figure
    assert stored_per_key == dict.fromkeys(keys, 1), figure


@pytest.mark.parametrize(
    "claim", [claim_until_none_left, claim_batches_until_none_left], ids=["one", "batch"]
)
def test_each_expired_lease_is_claimed_by_exactly_one_claimer(
    server: Server, crowd: Crowd, mongo_db: Database[dict[str, Any]], figures: Figures, claim: Any
) -> None:
    documents = mongo_db["tweets"]
    expired = datetime.now(UTC) - timedelta(seconds=1)
    ids = [f"tweet-{n:02d}" for n in range(LEASED_DOCUMENTS)]
    documents.insert_many([{"_id": i, "lease_until": expired, "lease_owner": None} for i in ids])
    claimers = [f"relay-{n}" for n in range(crowd.size)]
    claimed = crowd.race(claim, [(server.url, mongo_db.name, "tweets", c) for c in claimers])
    claims = Counter(i for mine in claimed for i in mine)
    owners = {str(d["_id"]): d["lease_owner"] for d in documents.find({}, {"lease_owner": 1})}
    figure = (
        f"{LEASED_DOCUMENTS} expired leases, {crowd.size} claimers ({claim.__name__}): "
        f"claims {sum(claims.values())}, "
        f"claimed twice {sum(1 for n in claims.values() if n > 1)}, unclaimed {len(set(ids) - set(claims))}, "
        f"per claimer {[len(mine) for mine in claimed]}"
    )
    figures(figure)
    assert claims == dict.fromkeys(ids, 1), figure
    assert owners == {i: c for c, mine in zip(claimers, claimed, strict=True) for i in mine}, figure
