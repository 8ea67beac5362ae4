"""Values come back as they were stored, and the indexes the services create behave as MongoDB's
do. The suite grows with the services: a new kind of stored value or a new index adds its test.

Values: tz-aware UTC datetimes at millisecond precision (every service's client is tz_aware and
tweet-service cuts its times to the millisecond so an answer matches later reads), sealed bytes
(vault-service), nested documents and arrays, large integers. Indexes: each service's
ensure_indexes runs at every start (so creating an index again must be harmless), with compound,
descending and dotted-path keys; unique indexes refuse a second key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from bson import Binary
from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

Db = Database[dict[str, Any]]


def test_a_tz_aware_datetime_round_trips_at_millisecond_precision(mongo_db: Db) -> None:
    at_the_millisecond = datetime(2026, 6, 1, 12, 30, 15, 123_000, tzinfo=UTC)
    finer = datetime(2026, 6, 1, 12, 30, 15, 123_456, tzinfo=UTC)
    in_paris = datetime(2026, 6, 1, 14, 30, 15, 123_000, tzinfo=timezone(timedelta(hours=2)))
    mongo_db["times"].insert_one(
        {"_id": "posted", "exact": at_the_millisecond, "finer": finer, "paris": in_paris}
    )
    stored = mongo_db["times"].find_one({"_id": "posted"})
    assert stored is not None
    assert stored["exact"] == at_the_millisecond and stored["exact"].tzinfo is not None
    assert stored["finer"] == at_the_millisecond  # BSON keeps milliseconds
    assert stored["paris"] == at_the_millisecond and stored["paris"].utcoffset() == timedelta(0)
    assert mongo_db["times"].count_documents({"exact": at_the_millisecond}) == 1
    assert (
        mongo_db["times"].count_documents({"exact": {"$lt": at_the_millisecond + timedelta(milliseconds=1)}})
        == 1
    )


def test_bytes_nested_documents_and_large_integers_round_trip(mongo_db: Db) -> None:
    sealed = bytes(range(256))
    document = {
        "_id": "buyer-ada",
        "fields": {"email": Binary(sealed), "address": Binary(b"\x00sealed\xff")},
        "consents": {"marketing": False, "one_tap": True},
        "variants": [{"variant_id": "m", "attributes": {"size": "M", "colour": "ciel"}, "stock": 1_000_000}],
        "amount_minor": 9_007_199_254_740_993,
        "note": "Pluie d'été ☔",
        "product": None,
    }
    mongo_db["profiles"].insert_one(document)
    stored = mongo_db["profiles"].find_one({"_id": "buyer-ada"})
    # pymongo hands back binary subtype 0 as bytes, which is what the vault reads
    as_read = {**document, "fields": {"email": sealed, "address": b"\x00sealed\xff"}}
    assert stored == as_read


def test_creating_the_same_indexes_again_is_harmless(mongo_db: Db) -> None:
    tweets = mongo_db["tweets"]
    for _ in range(2):  # as at a second start of the service
        tweets.create_index([("posted_at", DESCENDING), ("_id", DESCENDING)])
        tweets.create_index("product.product_id")
        tweets.create_index("outbox_pending")
    keys = sorted(tuple(index["key"]) for index in tweets.index_information().values())
    assert keys == sorted(
        [
            (("_id", 1),),
            (("posted_at", -1), ("_id", -1)),
            (("product.product_id", 1),),
            (("outbox_pending", 1),),
        ]
    )


def test_a_compound_index_serves_a_query_on_its_keys(mongo_db: Db) -> None:
    audit = mongo_db["audit"]
    audit.create_index([("buyer_id", ASCENDING), ("at", ASCENDING)])
    noon = datetime(2026, 6, 1, 12, tzinfo=UTC)
    audit.insert_many(
        [
            {
                "_id": f"read-{n}",
                "buyer_id": ("buyer-ada", "buyer-bob")[n % 2],
                "at": noon + timedelta(minutes=n),
            }
            for n in range(6)
        ]
    )
    found = audit.find({"buyer_id": "buyer-ada", "at": {"$gte": noon + timedelta(minutes=1)}}).sort(
        "at", ASCENDING
    )
    assert [d["_id"] for d in found] == ["read-2", "read-4"]


def test_a_unique_index_refuses_a_second_key_and_keeps_the_first(mongo_db: Db) -> None:
    orders = mongo_db["orders"]
    orders.create_index("idempotency_key", unique=True)
    orders.insert_one({"_id": "order-1", "idempotency_key": "buy:raincoat"})
    with pytest.raises(DuplicateKeyError):
        orders.insert_one({"_id": "order-2", "idempotency_key": "buy:raincoat"})
    with pytest.raises(DuplicateKeyError):
        orders.update_one({"_id": "order-3"}, {"$set": {"idempotency_key": "buy:raincoat"}}, upsert=True)
    assert list(orders.find()) == [{"_id": "order-1", "idempotency_key": "buy:raincoat"}]
