"""The writes the services make, one shape per test, each checked against the answer MongoDB
gives. The suite grows with the services: a service that starts writing with a new operator or
option adds its test here, with the service's own call as the example.

Where each shape comes from: the shared outbox ($push $each with $set, $pullAll of the entries
sent, then $size 0), tweet-service (versioned $set of dotted paths, revoking a key once),
vault-service (upserts with $set or $setOnInsert; find_one_and_update of a data key, rewrap's
modified_count and erasure's delete_one were its data keys' until the key store left MongoDB,
and stay as shapes a service may use), rollout-service (replace_one upsert of an audit entry),
the lease the outbox relay will take ($unset to give it back), its batch claim (``update_many``
of the candidates it read that are still free) and its one-write release (an exact match of the
outbox it sent).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

Db = Database[dict[str, Any]]
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def entry(n: int) -> dict[str, Any]:
    return {"event_id": f"event-{n}", "event": {"event_type": "ProductRestocked", "units_added": n}}


def test_push_each_appends_in_order_beside_a_set(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    tweets.insert_one({"_id": "tweet-raincoat", "outbox": [entry(1)], "outbox_pending": True})
    update = {"$push": {"outbox": {"$each": [entry(2), entry(3)]}}, "$set": {"outbox_pending": True}}
    assert tweets.update_one({"_id": "tweet-raincoat"}, update).modified_count == 1
    stored = tweets.find_one({"_id": "tweet-raincoat"})
    assert stored == {
        "_id": "tweet-raincoat",
        "outbox": [entry(1), entry(2), entry(3)],
        "outbox_pending": True,
    }


def test_pull_all_removes_exactly_the_entries_sent_then_size_zero_clears_the_flag(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    tweets.insert_one(
        {"_id": "tweet-raincoat", "outbox": [entry(1), entry(2), entry(3)], "outbox_pending": True}
    )
    sent = (tweets.find_one({"_id": "tweet-raincoat"}, {"outbox": 1}) or {})["outbox"][:2]
    tweets.update_one({"_id": "tweet-raincoat"}, {"$pullAll": {"outbox": sent}})
    empty_only = {"_id": "tweet-raincoat", "outbox": {"$size": 0}}
    assert tweets.update_one(empty_only, {"$set": {"outbox_pending": False}}).matched_count == 0
    assert tweets.find_one({"_id": "tweet-raincoat"}) == {
        "_id": "tweet-raincoat",
        "outbox": [entry(3)],
        "outbox_pending": True,
    }
    tweets.update_one({"_id": "tweet-raincoat"}, {"$pullAll": {"outbox": [entry(3)]}})
    assert tweets.update_one(empty_only, {"$set": {"outbox_pending": False}}).matched_count == 1
    assert tweets.find_one({"_id": "tweet-raincoat"}) == {
        "_id": "tweet-raincoat",
        "outbox": [],
        "outbox_pending": False,
    }


def test_an_upsert_with_set_and_push_creates_then_updates(mongo_db: Db) -> None:
    profiles = mongo_db["profiles"]

    def save(key_id: str, n: int) -> Any:
        update = {
            "$set": {"key_id": key_id, "outbox_pending": True},
            "$push": {"outbox": {"$each": [entry(n)]}},
        }
        return profiles.update_one({"_id": "buyer-ada"}, update, upsert=True)

    assert save("key-1", 1).upserted_id == "buyer-ada"
    assert save("key-2", 2).upserted_id is None
    assert profiles.find_one({"_id": "buyer-ada"}) == {
        "_id": "buyer-ada",
        "key_id": "key-2",
        "outbox_pending": True,
        "outbox": [entry(1), entry(2)],
    }


def test_set_on_insert_writes_only_the_first_time(mongo_db: Db) -> None:
    paid_orders = mongo_db["paid_orders"]
    first = paid_orders.update_one(
        {"_id": "order-raincoat"},
        {"$setOnInsert": {"buyer_id": "buyer-ada", "captured_at": NOON}},
        upsert=True,
    )
    again = paid_orders.update_one(
        {"_id": "order-raincoat"},
        {"$setOnInsert": {"buyer_id": "buyer-bob", "captured_at": NOON}},
        upsert=True,
    )
    assert (first.upserted_id, again.upserted_id, again.matched_count, again.modified_count) == (
        "order-raincoat",
        None,
        1,
        0,
    )
    assert paid_orders.find_one({"_id": "order-raincoat"}) == {
        "_id": "order-raincoat",
        "buyer_id": "buyer-ada",
        "captured_at": NOON,
    }


def test_find_one_and_update_upsert_returns_the_first_writers_document(mongo_db: Db) -> None:
    data_keys = mongo_db["data_keys"]

    def key_for(key_id: str) -> dict[str, Any] | None:
        return data_keys.find_one_and_update(
            {"_id": "buyer-ada"},
            {"$setOnInsert": {"key_id": key_id, "master_version": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )

    assert key_for("key-first") == {"_id": "buyer-ada", "key_id": "key-first", "master_version": 1}
    assert key_for("key-second") == {"_id": "buyer-ada", "key_id": "key-first", "master_version": 1}


def test_find_one_and_update_before_after_and_no_match(mongo_db: Db) -> None:
    stock = mongo_db["stock"]
    stock.insert_one({"_id": "raincoat-m", "available": 1})
    take_one = ({"_id": "raincoat-m", "available": {"$gte": 1}}, {"$inc": {"available": -1}})
    assert stock.find_one_and_update(*take_one) == {"_id": "raincoat-m", "available": 1}
    assert stock.find_one_and_update(*take_one) is None
    put_back = stock.find_one_and_update(
        {"_id": "raincoat-m"}, {"$inc": {"available": 1}}, return_document=ReturnDocument.AFTER
    )
    assert put_back == {"_id": "raincoat-m", "available": 1}


def test_set_of_dotted_paths_changes_only_those_fields(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    product = {
        "product_id": "product-raincoat",
        "price": {"amount_minor": 4999, "currency": "USD"},
        "variants": [{"variant_id": "m", "stock": 2}, {"variant_id": "l", "stock": 0}],
    }
    tweets.insert_one({"_id": "tweet-raincoat", "version": 1, "product": product})
    restocked = [{"variant_id": "m", "stock": 2}, {"variant_id": "l", "stock": 5}]
    new_price = {"amount_minor": 3999, "currency": "USD"}
    update = {"$set": {"product.variants": restocked, "product.price": new_price, "version": 2}}
    assert tweets.update_one({"_id": "tweet-raincoat", "version": 1}, update).matched_count == 1
    assert tweets.find_one({"_id": "tweet-raincoat"}) == {
        "_id": "tweet-raincoat",
        "version": 2,
        "product": {"product_id": "product-raincoat", "price": new_price, "variants": restocked},
    }
    assert tweets.update_one({"_id": "tweet-raincoat", "version": 1}, update).matched_count == 0


def test_matched_and_modified_counts_differ_when_nothing_changes(mongo_db: Db) -> None:
    data_keys = mongo_db["data_keys"]
    data_keys.insert_one({"_id": "buyer-ada", "master_version": 2})
    unchanged = data_keys.update_one({"_id": "buyer-ada"}, {"$set": {"master_version": 2}})
    moved = data_keys.update_one({"_id": "buyer-ada", "master_version": 2}, {"$set": {"master_version": 3}})
    assert (unchanged.matched_count, unchanged.modified_count) == (1, 0)
    assert (moved.matched_count, moved.modified_count) == (1, 1)


def test_a_conditional_revoke_matches_once(mongo_db: Db) -> None:
    api_keys = mongo_db["api_keys"]
    api_keys.insert_one({"_id": "key-1", "merchant_id": "puddle", "revoked_at": None})
    live = {"_id": "key-1", "merchant_id": "puddle", "revoked_at": None}
    assert api_keys.update_one(live, {"$set": {"revoked_at": NOON}}).matched_count == 1
    assert api_keys.update_one(live, {"$set": {"revoked_at": NOON}}).matched_count == 0
    assert api_keys.find_one({"_id": "key-1"}) == {
        "_id": "key-1",
        "merchant_id": "puddle",
        "revoked_at": NOON,
    }


def test_replace_one_upsert_replaces_the_whole_document(mongo_db: Db) -> None:
    changes = mongo_db["rule_changes"]
    changes.replace_one({"_id": "command-1"}, {"outcome": "rejected", "reason": "unknown rule"}, upsert=True)
    changes.replace_one({"_id": "command-1"}, {"outcome": "applied", "event_id": "event-1"}, upsert=True)
    assert list(changes.find()) == [{"_id": "command-1", "outcome": "applied", "event_id": "event-1"}]


def test_unset_removes_the_fields(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    tweets.insert_one({"_id": "tweet-raincoat", "lease_until": NOON, "lease_owner": "relay-1", "version": 3})
    tweets.update_one({"_id": "tweet-raincoat"}, {"$unset": {"lease_until": "", "lease_owner": ""}})
    assert tweets.find_one({"_id": "tweet-raincoat"}) == {"_id": "tweet-raincoat", "version": 3}


def test_delete_one_by_id_and_a_second_insert_of_an_id_refused(mongo_db: Db) -> None:
    merchants = mongo_db["merchants"]
    merchants.insert_one({"_id": "puddle", "name": "Puddle & Co."})
    with pytest.raises(DuplicateKeyError):
        merchants.insert_one({"_id": "puddle", "name": "Puddle again"})
    assert merchants.delete_one({"_id": "puddle"}).deleted_count == 1
    assert merchants.delete_one({"_id": "puddle"}).deleted_count == 0
    assert merchants.count_documents({}) == 0


def test_the_outbox_relays_batch_claim_leases_only_the_free_candidates_it_read(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    held = {"owner": "relay-b", "until": datetime(2099, 1, 1, tzinfo=UTC), "round": "b-1"}
    tweets.insert_many(
        [
            {"_id": "tweet-free", "outbox": [entry(1)], "outbox_pending": True},
            {
                "_id": "tweet-expired",
                "outbox": [entry(2)],
                "outbox_pending": True,
                "lease": {**held, "until": NOON},
            },
            {"_id": "tweet-held", "outbox": [entry(3)], "outbox_pending": True, "lease": held},
            {"_id": "tweet-sent", "outbox": [], "outbox_pending": False},
        ]
    )
    free = {"outbox_pending": True, "$or": [{"lease": None}, {"lease.until": {"$lt": NOON.replace(hour=13)}}]}
    candidates = [d["_id"] for d in tweets.find(free, {"_id": 1}, limit=10)]
    assert sorted(candidates) == ["tweet-expired", "tweet-free"]
    lease = {"owner": "relay-a", "until": NOON.replace(hour=14), "round": "a-1"}
    moved = tweets.update_many(
        {**free, "_id": {"$in": [*candidates, "tweet-held"]}}, {"$set": {"lease": lease}}
    )
    assert moved.modified_count == 2
    mine = tweets.find(
        {"_id": {"$in": [*candidates, "tweet-held"]}, "lease.round": "a-1"}, {"outbox": 1, "lease": 1}
    )
    assert sorted(d["_id"] for d in mine) == ["tweet-expired", "tweet-free"]
    assert tweets.find_one({"_id": "tweet-held"}, {"lease": 1}) == {"_id": "tweet-held", "lease": held}


def test_the_outbox_relays_release_empties_only_an_outbox_that_holds_exactly_what_was_sent(
    mongo_db: Db,
) -> None:
    tweets = mongo_db["tweets"]
    lease = {"owner": "relay-a", "until": NOON, "round": "a-1"}
    tweets.insert_one(
        {"_id": "tweet-raincoat", "outbox": [entry(1), entry(2)], "outbox_pending": True, "lease": lease}
    )
    emptied = {"$set": {"outbox": [], "outbox_pending": False}, "$unset": {"lease": ""}}
    mine = {"_id": "tweet-raincoat", "lease.owner": "relay-a"}
    assert tweets.update_one({**mine, "outbox": [entry(1)]}, emptied).matched_count == 0  # one was added
    assert tweets.update_one({**mine, "outbox": [entry(2), entry(1)]}, emptied).matched_count == 0  # order
    assert tweets.update_one({**mine, "outbox": [entry(1), entry(2)]}, emptied).matched_count == 1
    assert tweets.find_one({"_id": "tweet-raincoat"}) == {
        "_id": "tweet-raincoat",
        "outbox": [],
        "outbox_pending": False,
    }
