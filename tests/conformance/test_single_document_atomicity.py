"""Concurrent updates of one document all take effect: what the services' outbox (an event
appended in the same update as the change) and every counter rely on. Figures: updates sent,
updates acknowledged, updates kept by the server."""

from __future__ import annotations

from typing import Any

from conformance_crowd import Crowd, in_threads, shares
from conformance_server import Server
from conformance_tasks import increment, push_with_version
from figure_book import Figures
from pymongo.database import Database

INCREMENTS = 1_200
THREADS = 8
PUSHES_PER_WORKER = 150


def test_inc_from_four_processes_keeps_every_increment(
    server: Server, crowd: Crowd, mongo_db: Database[dict[str, Any]], figures: Figures
) -> None:
    mongo_db["counters"].insert_one({"_id": "taps", "count": 0})
    acknowledged = crowd.race(
        increment,
        [(server.url, mongo_db.name, "counters", "taps", n) for n in shares(INCREMENTS, crowd.size)],
    )
    kept = mongo_db["counters"].find_one({"_id": "taps"})
    figure = (
        f"{INCREMENTS} $inc from {crowd.size} processes: acknowledged {sum(acknowledged)}, "
        f"kept {kept and kept['count']}"
    )
    figures(figure)
    assert sum(acknowledged) == INCREMENTS, figure
    assert kept == {"_id": "taps", "count": INCREMENTS}, figure


def test_inc_from_eight_threads_keeps_every_increment(
    mongo_db: Database[dict[str, Any]], figures: Figures
) -> None:
    counters = mongo_db["counters"]
    counters.insert_one({"_id": "taps", "count": 0})

    def increment_share(index: int) -> int:
        times = shares(INCREMENTS, THREADS)[index]
        return sum(
            counters.update_one({"_id": "taps"}, {"$inc": {"count": 1}}).modified_count for _ in range(times)
        )

    acknowledged = sum(in_threads(THREADS, increment_share))
    kept = counters.find_one({"_id": "taps"})
    figure = (
        f"{INCREMENTS} $inc from {THREADS} threads: acknowledged {acknowledged}, "
        f"kept {kept and kept['count']}"
    )
    figures(figure)
    assert acknowledged == INCREMENTS, figure
    assert kept == {"_id": "taps", "count": INCREMENTS}, figure


def test_a_push_and_a_version_bump_in_one_update_are_never_separated(
    server: Server, crowd: Crowd, mongo_db: Database[dict[str, Any]], figures: Figures
) -> None:
    """Each update appends an outbox entry and increments the version: every entry is kept, in
    each writer's order, and the version counts exactly the entries."""
    documents = mongo_db["tweets"]
    documents.insert_one({"_id": "tweet-raincoat", "version": 0, "outbox": [], "outbox_pending": False})
    workers = [f"writer-{n}" for n in range(crowd.size)]
    acknowledged = crowd.race(
        push_with_version,
        [(server.url, mongo_db.name, "tweets", "tweet-raincoat", w, PUSHES_PER_WORKER) for w in workers],
    )
    stored = documents.find_one({"_id": "tweet-raincoat"})
    assert stored is not None
    entries = stored["outbox"]
    expected = {f"{w}-{s:04d}" for w in workers for s in range(PUSHES_PER_WORKER)}
    lost = expected - {e["event_id"] for e in entries}
    out_of_order = [
        w
        for w in workers
        if [e["sequence"] for e in entries if e["worker"] == w] != list(range(PUSHES_PER_WORKER))
    ]
    figure = (
        f"{len(expected)} $push+$inc from {crowd.size} processes: acknowledged {sum(acknowledged)}, "
        f"entries kept {len(entries)}, lost {len(lost)}, version {stored['version']}, "
        f"writers out of order {len(out_of_order)}"
    )
    figures(figure)
    assert sum(acknowledged) == len(expected), figure
    assert not lost, figure
    assert len(entries) == len(expected) == stored["version"], figure
    assert not out_of_order, figure
    assert stored["outbox_pending"] is True, figure
