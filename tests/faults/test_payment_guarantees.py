"""Guarantees 1-5 (../shared/guarantees.md, "Money and orders") against vault-service and
checkout-service as processes, the real broker and database server, and the fake Stripe, which
counts every charge. Each test prints what it injected and what went wrong (0).

1. Every confirmation redelivered 2, 5 and 20 times, sequentially and concurrently, and across
   a rebalance (a second checkout instance joining mid-way) → one charge per order.
2. The idempotency key is a pure function of the order: the same order after a restart charges
   under the same key (the fake replays it), never a second time.
3. Stripe faults of every class (timeout after the charge went through, 500, 429 with
   Retry-After, connection reset) → retried with the same key, no double charge, no order left
   unfinished; declines end in PaymentFailed, not retried.
4. The payment worker SIGKILLed at each step of a payment (creating the customer, attaching the
   card, creating the PaymentIntent, right after the capture) and restarted → every order ends
   exactly once in paid, failed or cancelled.
5. 50 buyers racing two checkout instances for the last 5 units → exactly 5 paid, 45 sold out;
   an abandoned hold and an unfinished 3-D Secure are released on time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from figure_book import Figures
from payment_faults_support import (
    buy_and_confirm,
    charges_by_order,
    double_charges,
    redeliver,
    wait_all_ended,
    wait_payments_caught_up,
)
from shop_support import ENDED, ShopSetup, new_card_confirmation

pytestmark = pytest.mark.stack


def test_redelivered_confirmations_charge_once(shop_setup: ShopSetup, figures: Figures) -> None:
    injected = 0
    with shop_setup.open(stock_m=40) as shop:
        plan = [(copies, mode) for copies in (2, 5, 20) for mode in ("sequential", "concurrent")]
        # each PaymentIntent takes a second at Stripe, so the copies arrive while it is in flight
        shop.stripe.arm("delay_ms", path="/v1/payment_intents", method="POST", count=None, delay_ms=1_000)
        orders = buy_and_confirm(shop, [f"buyer-dup-{i}" for i in range(len(plan) + 2)])
        order_ids = list(orders)
        for (copies, mode), order_id in zip(plan, order_ids, strict=False):
            redeliver(shop_setup, order_id, "OrderConfirmed", copies - 1, concurrently=mode == "concurrent")
            injected += copies - 1
        # across a rebalance: a second instance joins while 20 copies of two more orders arrive
        for order_id in order_ids[len(plan) :]:
            redeliver(shop_setup, order_id, "OrderConfirmed", 19, concurrently=True)
            injected += 19
        shop.start_checkout()
        states = wait_all_ended(shop, orders)
        wait_payments_caught_up(shop_setup)  # every copy handled before Stripe's count is read
        in_flight = shop.stripe.faults()["injected_by_kind"].get("delay_ms", 0)
        charges = charges_by_order(shop)
    not_paid = sorted(o for o, s in states.items() if s != "paid")
    figures(
        f"orders {len(orders)}, duplicate deliveries injected {injected} (2/5/20 x sequential/concurrent"
        f", 2 x 20 across a rebalance) while {in_flight} PaymentIntent requests were in flight at Stripe,"
        f" charges {sum(charges.values())}, double charges"
        f" {double_charges(charges)}, not paid {len(not_paid)}"
    )
    assert not_paid == []
    assert double_charges(charges) == 0 and set(charges) == set(orders)


def test_double_tap_makes_one_order(shop_setup: ShopSetup, figures: Figures) -> None:
    with shop_setup.open() as shop, ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: shop.tap("buyer-double", "one-key"), range(10)))
        order_ids = {a.json()["order_id"] for a in answers}
        confirmations = list(
            pool.map(
                lambda _: shop.confirm("buyer-double", next(iter(order_ids)), new_card_confirmation()),
                range(5),
            )
        )
        final = shop.wait_for("buyer-double", next(iter(order_ids)), ENDED)
        charges = charges_by_order(shop)
    codes = sorted(a.status_code for a in answers)
    figures(
        f"taps with one Idempotency-Key 10 (answers {codes}), orders {len(order_ids)}; confirmations 5"
        f" (answers {sorted(c.status_code for c in confirmations)}), charges {sum(charges.values())}"
    )
    assert len(order_ids) == 1 and codes.count(201) == 1
    assert final["state"] == "paid" and sum(charges.values()) == 1


FAULT_CLASSES = (
    ("timeout_after_success", {"hold_ms": 6_000}),  # longer than checkout's Stripe timeout (3 s)
    ("http_500", {}),
    ("http_429", {"retry_after_s": 1}),
    ("connection_reset", {}),
)


def test_stripe_faults_of_every_class(shop_setup: ShopSetup, figures: Figures) -> None:
    with shop_setup.with_checkout(CHECKOUT_STRIPE_TIMEOUT_S="3").open(stock_m=20) as shop:
        injected: dict[str, int] = {}
        orders: dict[str, str] = {}
        for kind, options in FAULT_CLASSES:
            for path in ("/v1/payment_intents", "/v1/customers", "/v1/payment_methods/*/attach"):
                shop.stripe.arm(kind, path=path, method="POST", count=2, **options)
            orders.update(buy_and_confirm(shop, [f"buyer-{kind}"]))
            wait_all_ended(shop, {k: v for k, v in orders.items() if v == f"buyer-{kind}"}, timeout_s=180)
            injected[kind] = shop.stripe.faults()["injected_by_kind"].get(kind, 0)
            shop.stripe.clear_faults()
        declined = buy_and_confirm(shop, ["buyer-declined", "buyer-broke"], "pm_card_chargeDeclined")
        states = wait_all_ended(shop, orders | declined)
        charges = charges_by_order(shop)
        failed_charges = shop.stripe.charges()["failed_charges"]
    unfinished = [o for o, s in states.items() if s not in ENDED]
    wrong = [o for o in orders if states[o] != "paid"] + [o for o in declined if states[o] != "failed"]
    figures(
        f"faults injected by class {injected}; orders {len(orders)} paid {sum(charges.values())} charges,"
        f" double charges {double_charges(charges)}; declines {len(declined)} → failed"
        f" {sum(states[o] == 'failed' for o in declined)} (declined charge attempts {failed_charges});"
        f" unfinished {len(unfinished)}, wrong outcome {len(wrong)}"
    )
    assert all(count >= 1 for count in injected.values()), injected
    assert unfinished == [] and wrong == [] and double_charges(charges) == 0
    assert failed_charges <= len(declined)  # a decline is never retried


KILL_POINTS = ("/v1/customers", "/v1/payment_methods/*/attach", "/v1/payment_intents")


def test_worker_killed_at_each_step_of_a_payment(shop_setup: ShopSetup, figures: Figures) -> None:
    kills = 0
    with shop_setup.open(stock_m=20) as shop:
        orders: dict[str, str] = {}
        for step, path in enumerate(KILL_POINTS):
            # the request reaches Stripe and completes there while its caller is killed
            shop.stripe.arm("delay_ms", path=path, method="POST", count=1, delay_ms=3_000)
            orders.update(buy_and_confirm(shop, [f"buyer-kill-{step}"]))
            deadline = time.monotonic() + 30
            while not shop.stripe.faults()["injected"]:
                assert time.monotonic() < deadline, f"no request to {path} reached Stripe"
                time.sleep(0.05)
            shop.kill_checkout()
            kills += 1
            shop.stripe.clear_faults()
            shop.start_checkout()
        # right after a capture, before the worker could commit its offset
        after = buy_and_confirm(shop, ["buyer-kill-after-capture"])
        order_id, buyer = next(iter(after.items()))
        shop.wait_for(buyer, order_id, ENDED)
        shop.kill_checkout()
        kills += 1
        shop.start_checkout()
        orders.update(after)
        states = wait_all_ended(shop, orders)
        charges = charges_by_order(shop)
    not_paid = [o for o, s in states.items() if s != "paid"]
    figures(
        f"SIGKILLs {kills} (at {', '.join(KILL_POINTS)}, after a capture); orders {len(orders)}, paid"
        f" {len(orders) - len(not_paid)}, charges {sum(charges.values())}, double charges"
        f" {double_charges(charges)}, lost {len(not_paid)}"
    )
    assert not_paid == [] and double_charges(charges) == 0 and sum(charges.values()) == len(orders)


def test_fifty_buyers_race_two_instances_for_five_units(shop_setup: ShopSetup, figures: Figures) -> None:
    with shop_setup.open(checkout_instances=2, stock_m=5) as shop:
        clients = shop.clients

        def tap(i: int) -> tuple[str, int, str]:
            answer = shop.tap(f"buyer-race-{i}", f"race-{i}", client=clients[i % 2])
            return (
                f"buyer-race-{i}",
                answer.status_code,
                answer.json().get("order_id") or answer.json()["detail"],
            )

        with ThreadPoolExecutor(max_workers=16) as pool:
            taps = list(pool.map(tap, range(50)))
        won = {order: buyer for buyer, code, order in taps if code == 201}
        sold_out = [t for t in taps if t[1] == 409 and t[2] == "sold out"]
        for order_id, buyer in won.items():
            confirmed = shop.confirm(buyer, order_id, new_card_confirmation())
            assert confirmed.status_code == 202, confirmed.text
        states = wait_all_ended(shop, won)
        charges = charges_by_order(shop)
    paid = sum(s == "paid" for s in states.values())
    figures(
        f"buyers 50 on 2 instances for 5 units: held {len(won)}, sold out {len(sold_out)}, paid {paid},"
        f" charges {sum(charges.values())}, other answers {50 - len(won) - len(sold_out)}"
    )
    assert (len(won), len(sold_out), paid, sum(charges.values())) == (5, 45, 5, 5)


def test_abandoned_checkouts_are_released_on_time(shop_setup: ShopSetup, figures: Figures) -> None:
    hold_s = 4.0
    with shop_setup.with_checkout(CHECKOUT_HOLD_S=str(hold_s)).open(stock_m=2) as shop:
        abandoned = shop.tap("buyer-gone", "gone").json()["order_id"]
        three_ds = buy_and_confirm(shop, ["buyer-3ds"], "pm_card_threeDSecure2Required")
        started = time.monotonic()
        waiting = shop.wait_for("buyer-3ds", next(iter(three_ds)), {"requires_action"} | ENDED)
        assert waiting["state"] == "requires_action" and waiting["next_action"]["client_secret"]
        assert shop.tap("buyer-late", "late").status_code == 409  # both units held
        gone = shop.wait_for("buyer-gone", abandoned, ENDED, timeout_s=hold_s + 20)
        unfinished = shop.wait_for("buyer-3ds", next(iter(three_ds)), ENDED, timeout_s=hold_s + 30)
        released_after = time.monotonic() - started
        late = shop.tap("buyer-late", "late-again")
        charges = charges_by_order(shop)
    figures(
        f"hold {hold_s} s: abandoned Buy → {gone['state']} ({gone['cancel_reason']}), unfinished 3-D Secure"
        f" → {unfinished['state']} in {released_after:.1f} s; stock back (a later tap {late.status_code});"
        f" charges {sum(charges.values())}"
    )
    assert gone["state"] == "cancelled" and unfinished["state"] == "cancelled"
    assert late.status_code == 201 and sum(charges.values()) == 0
