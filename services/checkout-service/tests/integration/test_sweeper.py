"""The sweeper over the real database, on a clock the test moves: a held order past its hold is
cancelled and its stock released, a hold without an order is released, an order on its way to
payment keeps its hold; two sweepers at once (as in two instances) do each release once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from checkout_support import RAINCOAT_TWEET, Clock, posted, rules, stock_left, terms

from buybutton.auth import Principal
from buybutton.rollout import GateRules
from buybutton.unit_of_work import Change
from checkout_service import catalogue, merchants
from checkout_service.app import build_checkout
from checkout_service.checkout import BuyRequest
from checkout_service.config import Settings
from checkout_service.expiry import Sweeper
from checkout_service.holds import hold, hold_cause


def test_two_sweepers_end_each_abandoned_hold_once(checkout_settings: Settings, mongo_db: Any) -> None:
    clock = Clock()
    shop = build_checkout(mongo_db, checkout_settings)
    shop.clock = clock
    event, profile = posted(stock_m=5), terms()
    shop.catalogue.apply(RAINCOAT_TWEET, lambda t: catalogue.apply_posted(t, event), cause=event.event_id)
    shop.terms.apply(
        profile.merchant_id, lambda m: merchants.apply_profile(m, profile), cause=profile.event_id
    )
    ada, gate = Principal("buyer", "buyer-ada", country="US"), GateRules.of(rules())
    abandoned = shop.buy(ada, BuyRequest(RAINCOAT_TWEET, "raincoat-m", 1, "abandoned"), gate).order_id
    paying = shop.buy(ada, BuyRequest(RAINCOAT_TWEET, "raincoat-m", 2, "paying"), gate).order_id
    shop.orders.apply(paying, lambda o: Change({**(o.state or {}), "state": "confirming"}))
    orphan = shop.catalogue.apply(
        RAINCOAT_TWEET,
        hold("ord_orphan", "raincoat-m", 1, clock() + timedelta(seconds=600)),
        cause=hold_cause("ord_orphan"),
    )
    assert orphan.committed and stock_left(mongo_db) == 1
    sweepers = [Sweeper(shop, mongo_db.orders, mongo_db.catalogue, orphan_grace_s=5) for _ in range(2)]

    assert next(s.sweep_once() for s in sweepers).expired_orders == 0  # nothing has expired yet
    clock.advance(601)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = list(pool.map(lambda s: s.sweep_once(), sweepers))
    clock.advance(5)
    with ThreadPoolExecutor(max_workers=2) as pool:
        second = list(pool.map(lambda s: s.sweep_once(), sweepers))
    expired = sum(s.expired_orders for s in first + second)
    orphans = sum(s.orphans_released for s in first + second)
    cancelled_events = [
        entry
        for doc in mongo_db.orders.find({})
        for entry in doc["outbox"]
        if entry["event"]["event_type"] == "OrderCancelled"
    ]
    print(
        f"2 sweepers, 2 rounds each: orders expired {expired}, orphans released {orphans}, "
        f"OrderCancelled written {len(cancelled_events)}, stock left {stock_left(mongo_db)}"
    )
    assert expired == 1 and orphans == 1 and len(cancelled_events) == 1
    assert mongo_db.orders.find_one({"_id": abandoned})["state"] == "cancelled"
    assert mongo_db.orders.find_one({"_id": paying})["state"] == "confirming"
    assert stock_left(mongo_db) == 3  # the paying order's 2 units stay held
