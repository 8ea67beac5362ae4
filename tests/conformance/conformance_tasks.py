"""What one worker of a race does: the writes the services make, as they make them.

Each task takes the server URL, a database and a collection name (tasks run in other processes
and receive only picklable values), and returns what the server answered it: the units it
bought, the versions it won, the documents it claimed. Rule: a task counts only what the server
acknowledged to it, and never retries a write the server refused.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from conformance_crowd import client, in_threads, start_line
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

LEASE = timedelta(minutes=5)


def _collection(url: str, database: str, name: str) -> Collection[dict[str, Any]]:
    return client(url)[database][name]


def increment(url: str, database: str, name: str, document_id: str, times: int) -> int:
    """``$inc`` the counter ``times``; how many increments the server acknowledged."""
    counters = _collection(url, database, name)
    start_line()
    return sum(
        counters.update_one({"_id": document_id}, {"$inc": {"count": 1}}).modified_count for _ in range(times)
    )


def push_with_version(url: str, database: str, name: str, document_id: str, worker: str, times: int) -> int:
    """Append an outbox entry and bump the version in one update, ``times`` over."""
    documents = _collection(url, database, name)
    start_line()
    acknowledged = 0
    for sequence in range(times):
        entry = {"event_id": f"{worker}-{sequence:04d}", "worker": worker, "sequence": sequence}
        update = {
            "$push": {"outbox": {"$each": [entry]}},
            "$inc": {"version": 1},
            "$set": {"outbox_pending": True},
        }
        acknowledged += documents.update_one({"_id": document_id}, update).modified_count
    return acknowledged


def buy_each_round(
    url: str, database: str, name: str, item_ids: list[str], buyers: list[str]
) -> list[list[str]]:
    """For each item in turn (one round each, the whole crowd at once), every buyer of this
    worker tries to buy one unit in a thread of its own; per round, the buyers who got one."""
    stock = _collection(url, database, name)

    def buy(item_id: str, buyer: str) -> bool:
        result = stock.update_one({"_id": item_id, "stock": {"$gte": 1}}, {"$inc": {"stock": -1}})
        return result.modified_count == 1

    rounds = []
    for item_id in item_ids:

        def buy_this_item(index: int, item_id: str = item_id) -> bool:
            return buy(item_id, buyers[index])

        start_line()
        bought = in_threads(len(buyers), buy_this_item)
        rounds.append([buyer for buyer, got_one in zip(buyers, bought, strict=True) if got_one])
    return rounds


def compare_and_set(
    url: str, database: str, name: str, document_id: str, worker: str, attempts: int
) -> list[int]:
    """Read the version, then write version + 1 only if it is still the one read; the versions
    this worker's writes created."""
    documents = _collection(url, database, name)
    start_line()
    won = []
    for _ in range(attempts):
        current = documents.find_one({"_id": document_id}, {"version": 1})
        assert current is not None, f"{document_id} vanished"
        version = int(current["version"])
        written = documents.update_one(
            {"_id": document_id, "version": version},
            {"$set": {"version": version + 1, "written_by": worker}},
        )
        if written.matched_count:
            won.append(version + 1)
    return won


def insert_each_key(url: str, database: str, name: str, keys: list[str], worker: str) -> list[bool]:
    """For each key in turn (the whole crowd at once), insert an order with that idempotency
    key; True where this worker's insert was the one kept, False on DuplicateKeyError."""
    orders = _collection(url, database, name)
    inserted = []
    for key in keys:
        start_line()
        try:
            orders.insert_one({"_id": f"{key}:{worker}", "idempotency_key": key, "worker": worker})
        except DuplicateKeyError:
            inserted.append(False)
        else:
            inserted.append(True)
    return inserted


def claim_batches_until_none_left(url: str, database: str, name: str, worker: str) -> list[str]:
    """Claim expired leases a batch at a time, as the outbox relay does: read up to 8 candidate
    ids, one ``update_many`` of those still expired to this worker under a round token, then
    read back which of them carry the token; until none is left. The ids this worker got."""
    documents = _collection(url, database, name)
    start_line()
    claimed: list[str] = []
    for round_number in itertools.count():
        now = datetime.now(UTC)
        candidates = [d["_id"] for d in documents.find({"lease_until": {"$lt": now}}, {"_id": 1}, limit=8)]
        if not candidates:
            return claimed
        token = f"{worker}/{round_number}"
        documents.update_many(
            {"_id": {"$in": candidates}, "lease_until": {"$lt": now}},
            {"$set": {"lease_until": now + LEASE, "lease_owner": worker, "lease_round": token}},
        )
        claimed += [str(d["_id"]) for d in documents.find({"_id": {"$in": candidates}, "lease_round": token})]
    raise AssertionError("unreachable")


def claim_until_none_left(url: str, database: str, name: str, worker: str) -> list[str]:
    """Claim documents whose lease has expired, as the outbox relay will, until none is left;
    the ids this worker's claims returned."""
    documents = _collection(url, database, name)
    start_line()
    claimed: list[str] = []
    while True:
        now = datetime.now(UTC)
        document = documents.find_one_and_update(
            {"lease_until": {"$lt": now}},
            {"$set": {"lease_until": now + LEASE, "lease_owner": worker}},
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            return claimed
        assert document["lease_owner"] == worker, f"{worker} was handed {document}"
        claimed.append(str(document["_id"]))
