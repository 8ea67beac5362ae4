"""The unit of work on the real database server: processes and threads racing on one aggregate
lose no change and number every event once; one cause applied concurrently commits once; the
Mongo store keeps the same rules as its in-memory twin."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from pymongo.database import Database

from buybutton.events import MerchantProfileChanged
from buybutton.unit_of_work import (
    Aggregate,
    AggregateStore,
    Change,
    InMemoryAggregateStore,
    MongoAggregateStore,
)

MERCHANT = "merchant-puddle-and-co"


def test_racing_processes_and_threads_lose_no_change(
    mongo_db: Database[dict[str, Any]], start_writers: Callable[..., Any]
) -> None:
    processes, threads, applies = 4, 3, 15
    writers = start_writers("merchants", [MERCHANT], processes=processes, threads=threads, applies=applies)
    started = time.monotonic()
    writers.go()
    counts = writers.results()
    elapsed = time.monotonic() - started

    total = processes * threads * applies
    document = mongo_db["merchants"].find_one({"_id": MERCHANT})
    assert document is not None
    entries = document["outbox"]
    retried = sum(c["concurrent_changes"] for c in counts)
    print(
        f"\n{processes} processes x {threads} threads: {total} applies on one aggregate in {elapsed:.1f} s "
        f"({total / elapsed:.0f} commits/s); ConcurrentChange raised and retried {retried} times; "
        f"saves={document['saves']} version={document['version']} sequence={document['sequence']} "
        f"outbox entries={len(entries)} distinct ids={len({e['event_id'] for e in entries})}"
    )
    assert sum(c["committed"] for c in counts) == total
    assert document["saves"] == total, "lost updates"
    assert document["version"] == total
    assert document["sequence"] == total
    assert sorted(e["sequence"] for e in entries) == list(range(1, total + 1))
    assert len({e["event_id"] for e in entries}) == total
    assert document["outbox_pending"] is True


def test_one_cause_applied_concurrently_commits_once(
    mongo_db: Database[dict[str, Any]], start_writers: Callable[..., Any]
) -> None:
    """20 deliveries of one event to each of two merchants: one that exists (the conditional
    update races) and one that does not yet (the inserts race)."""
    existing, new = "merchant-existing", "merchant-new"
    MongoAggregateStore(mongo_db["merchants"]).apply(existing, lambda _: Change({"saves": 0}))
    writers = start_writers(
        "merchants", [existing, new], processes=4, threads=5, applies=2, cause="evt-profile-saved-once"
    )
    writers.go()
    counts = writers.results()

    committed = sum(c["committed"] for c in counts)
    duplicates = sum(c["duplicates"] for c in counts)
    documents = {d["_id"]: d for d in mongo_db["merchants"].find()}
    print(
        f"\n40 applies of one cause (20 per merchant): committed={committed} duplicates={duplicates} "
        + " ".join(f"{k}: version={d['version']} outbox={len(d['outbox'])}" for k, d in documents.items())
    )
    assert (committed, duplicates) == (2, 38)
    assert documents[existing]["version"] == 2 and documents[new]["version"] == 1
    for document in documents.values():
        assert document["saves"] == 1
        assert document["inbox"] == ["evt-profile-saved-once"]
        assert [e["sequence"] for e in document["outbox"]] == [1]


def profile_step(rng: random.Random) -> Any:
    """A change that sets or drops the merchant's optional note and saves its profile."""
    drop_note, events = rng.random() < 0.3, rng.randint(0, 2)

    def decide(aggregate: Aggregate) -> Change | None:
        if rng.random() < 0.1:
            return None
        state = dict(aggregate.state or {})
        state["saves"] = int(state.get("saves", 0)) + 1
        if drop_note:
            state.pop("note", None)
        else:
            state["note"] = {"text": f"save {state['saves']}", "tags": ["raincoat"]}
        saved = MerchantProfileChanged(
            merchant_id=aggregate.id,
            correlation_id=aggregate.id,
            producer="tweet-service",
            name="Puddle & Co.",
            stripe_account_id="acct_1Puddle",
            fee_bps=state["saves"],
        )
        return Change(state, [saved] * events)

    return decide


def test_the_mongo_store_keeps_the_rules_of_its_in_memory_twin(mongo_db: Database[dict[str, Any]]) -> None:
    mongo = MongoAggregateStore(mongo_db["merchants"], inbox_size=3)
    memory = InMemoryAggregateStore(inbox_size=3)
    stores: list[AggregateStore] = [mongo, memory]
    steps = 120
    for step in range(steps):
        merchant = f"merchant-{step % 3}"
        cause = random.Random(step).choice([None, f"evt-{step % 7}", f"evt-{step}"])
        outcomes = [store.apply(merchant, profile_step(random.Random(step)), cause=cause) for store in stores]
        done = [
            (o.aggregate, o.committed, o.duplicate, [(e.event_id, e.sequence) for e in o.events])
            for o in outcomes
        ]
        assert done[0] == done[1], f"step {step}"
        assert mongo.load(merchant) == memory.load(merchant) == outcomes[0].aggregate, f"step {step}"
    entries = [e for d in mongo_db["merchants"].find().sort("_id") for e in d["outbox"]]
    print(f"\n{steps} steps on 3 merchants: {len(entries)} outbox entries, {len(memory.published)} published")
    assert [e["event_id"] for e in entries] == [
        e.event_id for m in ("merchant-0", "merchant-1", "merchant-2") for e in memory.published if e.key == m
    ]


def test_a_document_written_before_the_unit_of_work_takes_changes(mongo_db: Database[dict[str, Any]]) -> None:
    """Documents stored before the unit of work have no version, sequence or inbox yet."""
    mongo_db["merchants"].insert_one({"_id": MERCHANT, "saves": 3, "name": "Puddle & Co."})
    store = MongoAggregateStore(mongo_db["merchants"])

    outcome = store.apply(MERCHANT, lambda a: Change({"saves": (a.state or {})["saves"] + 1}), cause="evt-1")
    assert outcome.committed
    assert store.load(MERCHANT) == Aggregate(MERCHANT, {"saves": 4}, version=1, sequence=0, inbox=("evt-1",))
