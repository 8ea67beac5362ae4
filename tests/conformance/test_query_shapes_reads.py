"""The reads the services make, one shape per test, each checked against the answer MongoDB
gives. The suite grows with the services: a service that starts using a new query shape (an
operator, an option, a sort) adds its test here, with the service's own call as the example.

Where each shape comes from: tweet-service (timeline pages: sort on two keys, limit, an $or
cursor; related products by $in on a dotted path; projections without the outbox), vault-service
(an order by _id and buyer; rewrap batches by $ne, sort by _id and limit were its data keys'
until the key store left MongoDB, and stay as shapes a service may use), rollout-service (the
audit trail newest first).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WITHOUT_OUTBOX = {"outbox": 0, "outbox_pending": 0}
Db = Database[dict[str, Any]]


def tweet(n: int, *, posted_at: datetime, merchant_id: str = "puddle") -> dict[str, Any]:
    return {
        "_id": f"tweet-{n:02d}",
        "merchant_id": merchant_id,
        "posted_at": posted_at,
        "product": {"product_id": f"product-{n:02d}", "related_product_ids": []},
        "outbox": [{"event_id": f"event-{n:02d}"}],
        "outbox_pending": True,
    }


def test_a_timeline_page_then_the_next_by_an_or_cursor(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    # pairs posted at the same millisecond: the cursor must break ties by _id
    tweets.insert_many([tweet(n, posted_at=NOON + timedelta(seconds=n // 2)) for n in range(9)])
    newest_first = [("posted_at", DESCENDING), ("_id", DESCENDING)]
    seen: list[str] = []
    query: dict[str, Any] = {"merchant_id": "puddle"}
    while page := list(tweets.find(query, WITHOUT_OUTBOX).sort(newest_first).limit(4)):
        seen += [t["_id"] for t in page]
        last = page[-1]
        query = {
            "merchant_id": "puddle",
            "$or": [
                {"posted_at": {"$lt": last["posted_at"]}},
                {"posted_at": last["posted_at"], "_id": {"$lt": last["_id"]}},
            ],
        }
    assert seen == [f"tweet-{n:02d}" for n in reversed(range(9))]


def test_in_on_a_dotted_path_with_the_outbox_left_out(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    tweets.insert_many([tweet(n, posted_at=NOON) for n in range(5)])
    found = list(tweets.find({"product.product_id": {"$in": ["product-01", "product-03"]}}, WITHOUT_OUTBOX))
    assert sorted(t["_id"] for t in found) == ["tweet-01", "tweet-03"]
    assert all(set(t) == {"_id", "merchant_id", "posted_at", "product"} for t in found), found


def test_count_documents_with_in_and_with_a_limit(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    tweets.insert_many([tweet(n, posted_at=NOON, merchant_id=("puddle", "drizzle")[n % 2]) for n in range(6)])
    wanted = {
        "merchant_id": "puddle",
        "product.product_id": {"$in": ["product-00", "product-01", "product-02"]},
    }
    assert tweets.count_documents(wanted) == 2
    assert tweets.count_documents({"merchant_id": "puddle"}, limit=1) == 1
    assert tweets.count_documents({"merchant_id": "nobody"}) == 0


def test_a_projection_of_named_fields_returns_those_and_the_id(mongo_db: Db) -> None:
    profiles = mongo_db["profiles"]
    profiles.insert_one(
        {"_id": "buyer-ada", "key_id": "key-1", "fields": {"email": b"sealed"}, "consents": {}}
    )
    assert profiles.find_one({"_id": "buyer-ada"}, {"key_id": 1}) == {"_id": "buyer-ada", "key_id": "key-1"}
    assert profiles.find_one({"_id": "buyer-ada"}, {"_id": 1}) == {"_id": "buyer-ada"}


def test_a_batch_of_stale_keys_by_ne_sorted_by_id(mongo_db: Db) -> None:
    data_keys = mongo_db["data_keys"]
    data_keys.insert_many([{"_id": f"buyer-{n:02d}", "master_version": 1 + n % 3} for n in range(12)])
    data_keys.insert_one({"_id": "buyer-without-version"})
    stale = {"master_version": {"$ne": 2}}
    batch = list(data_keys.find(stale).sort("_id", ASCENDING).limit(5))
    assert [d["_id"] for d in batch] == ["buyer-00", "buyer-02", "buyer-03", "buyer-05", "buyer-06"]
    assert data_keys.count_documents(stale) == 9  # $ne matches a missing field too


def test_a_cursor_longer_than_one_batch_returns_every_document(mongo_db: Db) -> None:
    keys = mongo_db["data_keys"]
    keys.insert_many([{"_id": n, "master_version": 1} for n in range(250)])  # the first batch holds 101
    assert sorted(d["_id"] for d in keys.find({}, {"master_version": 1})) == list(range(250))


def test_find_one_by_id_and_owner(mongo_db: Db) -> None:
    paid_orders = mongo_db["paid_orders"]
    paid_orders.insert_one({"_id": "order-raincoat", "buyer_id": "buyer-ada", "merchant_id": "puddle"})
    assert paid_orders.find_one({"_id": "order-raincoat", "buyer_id": "buyer-ada"}, {"_id": 1}) == {
        "_id": "order-raincoat"
    }
    assert paid_orders.find_one({"_id": "order-raincoat", "buyer_id": "buyer-bob"}, {"_id": 1}) is None


def test_null_matches_a_null_field_and_a_missing_one(mongo_db: Db) -> None:
    api_keys = mongo_db["api_keys"]
    api_keys.insert_many(
        [
            {"_id": "key-live", "merchant_id": "puddle", "revoked_at": None},
            {"_id": "key-revoked", "merchant_id": "puddle", "revoked_at": NOON},
            {"_id": "key-old", "merchant_id": "puddle"},
        ]
    )
    assert sorted(k["_id"] for k in api_keys.find({"revoked_at": None})) == ["key-live", "key-old"]


def test_an_audit_trail_newest_first_with_a_limit(mongo_db: Db) -> None:
    changes = mongo_db["rule_changes"]
    changes.insert_many(
        [
            {
                "_id": f"command-{n}",
                "rule_name": ("buy-button", "other")[n % 2],
                "recorded_at": NOON + timedelta(minutes=n),
            }
            for n in range(8)
        ]
    )
    found = changes.find({"rule_name": "buy-button"}).sort("recorded_at", DESCENDING).limit(3)
    assert [d["_id"] for d in found] == ["command-6", "command-4", "command-2"]


def test_keys_oldest_first_without_their_hashes(mongo_db: Db) -> None:
    api_keys = mongo_db["api_keys"]
    api_keys.insert_many(
        [{"_id": f"key-{n}", "created_at": NOON - timedelta(days=n), "secret_hash": "h"} for n in range(3)]
    )
    listed = list(api_keys.find({}, {"secret_hash": 0}).sort("created_at", 1))
    assert [k["_id"] for k in listed] == ["key-2", "key-1", "key-0"]
    assert all("secret_hash" not in k for k in listed)
