"""3-D Secure end to end, through vault-service and checkout-service as processes, the real
broker and database server, and the fake Stripe, which sends its webhooks signed to checkout:

- a card that needs 3-D Secure leaves the order ``requires_action`` with what the buyer's client
  needs to finish (``client_secret``, and ``redirect_url`` when checkout has a return URL); the
  buyer completes it and Stripe's signed webhook alone brings the order to ``paid``, one charge;
- the buyer fails it: the order ends ``failed`` (PaymentFailed with Stripe's code), no charge,
  the held unit back on sale;
- one tap with a saved card that needs authentication: one tap pays off session, where nobody
  can answer a challenge, so Stripe declines it with ``authentication_required`` and the order
  ends ``failed`` with that code (a decline, not retried), no second charge, stock back.
"""

from __future__ import annotations

from typing import Any

from shop_support import ENDED, Shop, ShopSetup, new_card_confirmation, payment_intent_of

from buybutton.events import PaymentActionRequired, PaymentCaptured, PaymentFailed

THREE_DS_CARD = "pm_card_threeDSecure2Required"
RETURN_URL = "https://buybutton.example/orders/finished"
TESS = "buyer-tess-3ds"
LATECOMER = "buyer-otto-late"


def wait_for_challenge(shop: Shop, buyer_id: str, order_id: str) -> dict[str, Any]:
    waiting = shop.wait_for(buyer_id, order_id, {"requires_action"} | ENDED)
    assert waiting["state"] == "requires_action", waiting
    return waiting


def payment_intent_deliveries(shop: Shop) -> list[dict[str, Any]]:
    """The fake's webhook deliveries of ``payment_intent.*`` events (this test's account only)."""
    return [d for d in shop.stripe.webhook()["deliveries"] if d["type"].startswith("payment_intent.")]


def failed_intents(shop: Shop) -> list[dict[str, Any]]:
    """The PaymentIntents Stripe reported failed (a decline without a charge leaves no charge)."""
    page = shop.stripe_get("/v1/events?type=payment_intent.payment_failed&limit=100").json()
    return [event["data"]["object"] for event in page["data"]]


def test_completed_challenge_pays_once_through_the_webhook(shop_setup: ShopSetup) -> None:
    with shop_setup.with_checkout(CHECKOUT_PAYMENT_RETURN_URL=RETURN_URL).open(stock_m=1) as shop:
        order_id = shop.tap(TESS, "tess-first").json()["order_id"]
        confirmed = shop.confirm(TESS, order_id, new_card_confirmation(THREE_DS_CARD))
        assert confirmed.status_code == 202, confirmed.text
        waiting = wait_for_challenge(shop, TESS, order_id)
        next_action = waiting["next_action"]
        intent_id = payment_intent_of(next_action)
        assert intent_id.startswith("pi_") and next_action["client_secret"] != intent_id
        assert next_action["redirect_url"] == f"{shop.stripe.base_url}/_fake/3ds/{intent_id}"
        sold_out_meanwhile = shop.tap(LATECOMER, "otto-while-waiting").status_code
        intent = shop.stripe_get(f"/v1/payment_intents/{intent_id}").json()
        assert (intent["status"], intent["metadata"]["order_id"]) == ("requires_action", order_id)

        answer = shop.stripe.authenticate(intent_id, succeed=True)
        paid = shop.wait_for(TESS, order_id, ENDED)
        charges = shop.stripe.charges()
        webhooks = payment_intent_deliveries(shop)
        captured = shop_setup.events(PaymentCaptured, lambda found: len(found) >= 1)
        asked = shop_setup.events(PaymentActionRequired, lambda found: len(found) >= 1)
    succeeded = [d for d in webhooks if d["type"] == "payment_intent.succeeded"]
    print(
        f"\n[3ds] challenge {intent_id} → stripe {answer['status']}, order {paid['state']};"
        f" webhooks {[(d['type'], [a.get('status') for a in d['attempts']]) for d in webhooks]};"
        f" succeeded charges {charges['succeeded_charges']}, a tap meanwhile {sold_out_meanwhile}"
    )
    assert sold_out_meanwhile == 409  # the one unit stayed held during the challenge
    assert paid["state"] == "paid" and paid["next_action"] is None
    assert succeeded and all(d["delivered"] for d in succeeded)
    assert charges["succeeded_charges"] == 1 and charges["orders"][order_id]["charges"] == 1
    assert [(e.order_id, e.payment_reference) for e in captured] == [(order_id, intent_id)]
    assert [(e.order_id, e.payment_reference) for e in asked] == [(order_id, intent_id)]


def test_failed_challenge_fails_the_order_and_releases_the_stock(shop_setup: ShopSetup) -> None:
    with shop_setup.open(stock_m=1) as shop:
        order_id = shop.tap(TESS, "tess-fails").json()["order_id"]
        assert shop.confirm(TESS, order_id, new_card_confirmation(THREE_DS_CARD)).status_code == 202
        waiting = wait_for_challenge(shop, TESS, order_id)
        assert waiting["next_action"]["redirect_url"] is None  # no return URL: Stripe.js finishes it
        intent_id = payment_intent_of(waiting["next_action"])
        held_tap = shop.tap(LATECOMER, "otto-before").status_code

        shop.stripe.authenticate(intent_id, succeed=False)
        failed = shop.wait_for(TESS, order_id, ENDED)
        later = shop.tap_until_held(LATECOMER, "otto-after")
        intent = shop.stripe_get(f"/v1/payment_intents/{intent_id}").json()
        events = shop_setup.events(PaymentFailed, lambda found: len(found) >= 1)
        charges = shop.stripe.charges()
    stripe_error = intent["last_payment_error"]
    print(
        f"\n[3ds] failed challenge → order {failed['state']} ({failed['failure_code']}), stripe"
        f" {intent['status']}; tap before {held_tap}, after {later.status_code};"
        f" succeeded charges {charges['succeeded_charges']}"
    )
    assert failed["state"] == "failed" and failed["next_action"] is None
    assert failed["failure_code"] == (stripe_error.get("decline_code") or stripe_error["code"])
    assert "authentication" in failed["failure_code"]
    assert [(e.order_id, e.failure_code) for e in events] == [(order_id, failed["failure_code"])]
    assert (held_tap, later.status_code) == (409, 201)
    assert charges["succeeded_charges"] == 0


def test_one_tap_with_a_card_that_needs_authentication_fails(shop_setup: ShopSetup) -> None:
    with shop_setup.open(stock_m=2) as shop:
        first = shop.tap(TESS, "tess-remembered").json()["order_id"]
        assert (
            shop.confirm(TESS, first, new_card_confirmation(THREE_DS_CARD, remember=True)).status_code == 202
        )
        shop.stripe.authenticate(payment_intent_of(wait_for_challenge(shop, TESS, first)["next_action"]))
        assert shop.wait_for(TESS, first, ENDED)["state"] == "paid"

        offer = shop.tap_until_offered(TESS, "tess-one-tap")
        assert offer["saved_profile"]["card"]["last4"] == "3220", offer
        # Stripe answers the one tap's PaymentIntent a second late, so the unit is surely held
        shop.stripe.arm("delay_ms", path="/v1/payment_intents", method="POST", delay_ms=1_000)
        one_tap = shop.confirm(TESS, offer["order_id"], {"use_saved": True})
        assert one_tap.status_code == 202, one_tap.text
        held_tap = shop.tap(LATECOMER, "otto-during").status_code  # one sold, one held
        ended = shop.wait_for(TESS, offer["order_id"], ENDED)
        later = shop.tap_until_held(LATECOMER, "otto-later")
        events = shop_setup.events(PaymentFailed, lambda found: len(found) >= 1)
        charges = shop.stripe.charges()
        delayed = shop.stripe.faults()["injected_by_kind"].get("delay_ms", 0)
        declined = failed_intents(shop)
    repeat = [i for i in declined if i["metadata"]["order_id"] == offer["order_id"]]
    codes = [i["last_payment_error"]["code"] for i in repeat]
    print(
        f"\n[3ds] one tap with a card that needs authentication → {ended['state']}"
        f" ({ended['failure_code']}); declined PaymentIntents {codes};"
        f" succeeded charges {charges['succeeded_charges']}; delays injected {delayed};"
        f" tap during {held_tap}, after {later.status_code}"
    )
    assert ended["state"] == "failed" and ended["failure_code"] == "authentication_required"
    assert ended["next_action"] is None  # off session: nothing the buyer could finish
    assert [(e.order_id, e.failure_code) for e in events] == [(offer["order_id"], "authentication_required")]
    assert charges["succeeded_charges"] == 1 and charges["orders"][first]["charges"] == 1
    assert offer["order_id"] not in charges["orders"]
    assert codes == ["authentication_required"] and delayed == 1
    assert (held_tap, later.status_code) == (409, 201)
