"""A claim on the real database: it stamps the first attempt once and keeps it on later
attempts, and a delivery stored before claims stamped it (``first_attempt_at: null``, as the
relay used to write it) gets its first attempt stamped all the same, so its horizon counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from merchant_relay.deliveries import Deliveries

LEASE = timedelta(seconds=30)
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_first_attempt_is_stamped_once_also_on_a_delivery_stored_with_a_null(mongo_db: Any) -> None:
    store = Deliveries(mongo_db["deliveries"], owner="relay-a")
    fresh = store.ensure("order-fresh", "merchant-puddle", "order.paid", now=START)
    legacy = store.ensure("order-legacy", "merchant-puddle", "order.paid", now=START)
    mongo_db["deliveries"].update_one({"_id": legacy}, {"$set": {"first_attempt_at": None}})

    first = store.claim(fresh, now=START, lease=LEASE)
    assert first is not None and first.first_attempt_at == START
    assert store.retry_at(first, START, status="500")
    again = store.claim(fresh, now=START + timedelta(minutes=5), lease=LEASE)
    assert again is not None and again.attempt == 2 and again.first_attempt_at == START

    old = store.claim(legacy, now=START + timedelta(minutes=1), lease=LEASE)
    assert old is not None and old.first_attempt_at == START + timedelta(minutes=1)
    stored = mongo_db["deliveries"].find_one({"_id": legacy})
    assert stored["first_attempt_at"].replace(tzinfo=UTC) == START + timedelta(minutes=1)
