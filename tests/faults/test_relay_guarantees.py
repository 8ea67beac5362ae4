"""merchant-relay's delivery guarantees (../shared/guarantees.md 12-13) with vault-service,
checkout-service and two merchant-relay instances as processes, the real broker and database
server, and the fake Stripe; the merchant's endpoint is a receiver in the test process that
verifies every post with the standardwebhooks library and deduplicates by webhook-id. Each test
prints what it injected and what went wrong.

1. Two relays at once, one SIGKILLed while the receiver holds its answers, then restarted: every
   paid order reaches the receiver, under the one webhook-id of its delivery (the receiver's
   dedupe yields exactly one per order), on the merchant topic under the same id, and each order
   has exactly one OrderForwarded (by event id); the merchant's statistics (the faust table,
   whose instances were killed with their relay) served by every relay equal what the relay's
   database counts: each order forwarded and delivered once, GMV and payouts summed once.
2. An endpoint failing half of the time (500s, and 200s too late for the relay: the merchant
   has the order, the relay tries again), then down for longer than the (6-second) horizon, under
   load: dead letters only after the horizon, ``relay-admin resend`` run as a command brings them
   through, every paid order delivered, repeats only under the same webhook-id; the statistics
   show the dead deliveries while they are dead, and every delivery delivered after the resend,
   as the database counts them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from figure_book import Figures
from payment_faults_support import buy_and_confirm, wait_all_ended
from relay_faults_support import (
    FailingAnswers,
    HeldAnswers,
    all_forwarded,
    delivery_states,
    forwarded_event_ids,
    in_flight,
    relay_admin,
    relay_database,
    stats_when_settled,
    tally,
    topic_webhook_ids,
)
from relay_support import PUDDLE, Receiver, wait_until
from shop_support import ShopSetup

from merchant_relay.deliveries import webhook_id

pytestmark = pytest.mark.stack

KILL_ORDERS = 20
HOLD_S = 4.0
FLAKY_ORDERS = 24
HORIZON_S = 6.0
LATE_S = 2.5  # past the relay's attempt timeout (RELAY_ATTEMPT_TIMEOUT_S=2 in the shop's knobs)


def test_a_relay_killed_mid_delivery_loses_no_order_and_renames_none(
    shop_setup: ShopSetup, mongo_client: Any, figures: Figures
) -> None:
    answers = HeldAnswers(hold_s=HOLD_S)
    receiver = Receiver("whsec_unset", answer=answers).start()
    # a lane waits out a held answer (attempt timeout > hold); few lanes, so deliveries queue up
    setup = shop_setup.with_relay(RELAY_DELIVERY_LANES="3", RELAY_ATTEMPT_TIMEOUT_S="6", RELAY_LEASE_S="12")
    db = relay_database(setup, mongo_client)
    try:
        with setup.open(stock_m=KILL_ORDERS + 2) as shop:
            shop.start_relay()
            shop.start_relay()
            receiver.secret = shop.register_endpoint(PUDDLE, receiver.url)
            orders = list(buy_and_confirm(shop, [f"buyer-kill-{n}" for n in range(KILL_ORDERS)]))
            victim = shop.relays[0]
            wait_until(
                lambda: answers.holding >= 2 and in_flight(victim, setup.issuer) >= 1,
                "the first relay mid-delivery while the receiver holds its answers",
            )
            at_kill = in_flight(victim, setup.issuer)
            shop.kill_relay(0)
            kills = 1
            answers.release.set()
            shop.start_relay()
            wait_until(
                lambda: delivery_states(db)["delivered"] == KILL_ORDERS and all_forwarded(db, KILL_ORDERS),
                "every order delivered and forwarded",
                timeout_s=120,
            )
            reclaimed = db.deliveries.count_documents({"attempts": {"$gte": 2}})
            stats, truth = stats_when_settled(shop, db, PUDDLE)
    finally:
        receiver.stop()
    got = tally(receiver, orders)
    forwarded = forwarded_event_ids(setup)
    on_topic = topic_webhook_ids(setup, PUDDLE)
    forwarded_twice = sorted(o for o in orders if len(forwarded.get(o, set())) != 1)
    topic_off = sorted(o for o in orders if on_topic.get(o) != {webhook_id(o, "order.paid")})
    figure = (
        f"orders {len(orders)}, kills {kills} (attempts in flight at the kill {at_kill}, answers held "
        f"{answers.held}), deliveries attempted more than once (the killed relay's, and retries) "
        f"{reclaimed}; receiver: {got.summary}, unverified {receiver.unverified}; orders without "
        f"exactly one OrderForwarded {len(forwarded_twice)}, orders off the merchant topic or under "
        f"another id there {len(topic_off)}; statistics served {stats}, counted in the database {truth}"
    )
    figures(figure)
    assert stats == truth and truth["forwarded"] == truth["delivered"] == KILL_ORDERS, figure
    assert at_kill >= 1 and reclaimed >= at_kill, figure
    assert not got.lost and not got.renamed and got.unexpected_ids == 0, figure
    assert got.distinct_ids == KILL_ORDERS and receiver.unverified == 0, figure
    assert not forwarded_twice and not topic_off, figure


def test_a_flaky_then_down_endpoint_gets_every_order_after_a_resend(
    shop_setup: ShopSetup, mongo_client: Any, figures: Figures
) -> None:
    answers = FailingAnswers(late_s=LATE_S)
    receiver = Receiver("whsec_unset", answer=answers).start()
    setup = shop_setup.with_relay(RELAY_DELIVERY_HORIZON_H=str(HORIZON_S / 3_600))
    db = relay_database(setup, mongo_client)
    try:
        with setup.open(stock_m=FLAKY_ORDERS + 2) as shop:
            shop.start_relay()
            shop.start_relay()
            receiver.secret = shop.register_endpoint(PUDDLE, receiver.url)
            buyers = [f"buyer-flaky-{n}" for n in range(FLAKY_ORDERS)]
            placed = buy_and_confirm(shop, buyers)
            orders = list(placed)
            wait_until(
                lambda: len(receiver.accepted) >= FLAKY_ORDERS // 2, "some orders through the flaky endpoint"
            )
            with answers.lock:
                answers.mode = "down"
            not_paid = [
                o for o, state in wait_all_ended(shop, placed).items() if state not in {"paid", "forwarded"}
            ]
            wait_until(
                lambda: (
                    sum(delivery_states(db).values()) == FLAKY_ORDERS and not delivery_states(db)["pending"]
                ),
                "every delivery settled while the endpoint is down",
                timeout_s=120,
            )
            settled = dict(delivery_states(db))
            dead = list(db.deliveries.find({"state": "dead"}))
            dead_last_status = Counter(str(d["last_status"]) for d in dead)
            early = [d for d in dead if (d["settled_at"] - d["first_attempt_at"]).total_seconds() < HORIZON_S]
            stats_down, truth_down = stats_when_settled(shop, db, PUDDLE)
            with answers.lock:
                answers.mode = "up"
            resent = relay_admin(setup, "resend", "--merchant", PUDDLE)
            wait_until(
                lambda: delivery_states(db)["delivered"] == FLAKY_ORDERS,
                "every delivery through after the resend",
            )
            stats, truth = stats_when_settled(shop, db, PUDDLE)
    finally:
        receiver.stop()
    got = tally(receiver, orders, failed_posts=answers.refused())
    resend_output = " / ".join(line for line in resent.stdout.splitlines() if line.strip())
    figure = (
        f"orders {len(orders)} (not paid {len(not_paid)}), failures injected {dict(answers.injected)}; "
        f"settled while down {settled} (the dead ones' last answers {dict(dead_last_status)}), dead "
        f"before the horizon {len(early)}; relay-admin resend exit {resent.returncode}: "
        f"{resend_output!r}; receiver: {got.summary}, unverified {receiver.unverified}; statistics while "
        f"down {stats_down} (database {truth_down}), after the resend {stats} (database {truth})"
    )
    figures(figure)
    assert stats_down == truth_down and stats_down["dead"] == len(dead), figure
    assert stats == truth and truth["delivered"] == FLAKY_ORDERS and truth["dead"] == 0, figure
    assert not not_paid, figure
    assert answers.injected["503"] >= 1 and dead and not early, figure  # the down stretch hit deliveries
    assert resent.returncode == 0 and f"re-sent: {len(dead)}" in resent.stdout, figure
    assert not got.lost and not got.renamed and got.unexpected_ids == 0, figure
    assert got.distinct_ids == FLAKY_ORDERS and receiver.unverified == 0, figure
