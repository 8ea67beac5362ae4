"""A buyer's first purchase with shipping and a card, then a one-tap repeat purchase with no
card or address input, through vault-service and checkout-service as processes, the real broker
and database server, and the fake Stripe: both PaymentIntents carry the merchant's connected
account and the platform fee, the second uses the saved customer and payment method off
session (the first was set up for that), and what PaymentCaptured says equals what Stripe
received."""

from __future__ import annotations

import time
from typing import Any

import httpx
from shop_support import PAID_OR_LATER, ShopSetup, new_card_confirmation

from buybutton.events import PaymentCaptured
from buybutton.money import Money

ADA = "buyer-ada-e2e"


def payment_intents(setup: ShopSetup) -> list[dict[str, Any]]:
    """Every PaymentIntent of this test's Stripe account, as Stripe's API shows it."""
    ids = sorted(setup.stripe.charges()["payment_intents"])
    key = setup.config.checkout["CHECKOUT_STRIPE_SECRET_KEY"]
    with httpx.Client(base_url=setup.stripe.base_url, auth=(key, "")) as api:
        return [api.get(f"/v1/payment_intents/{pi}").raise_for_status().json() for pi in ids]


def test_first_purchase_then_one_tap(shop_setup: ShopSetup) -> None:
    with shop_setup.open(fee_bps=500) as shop:
        first = shop.tap(ADA, "first-tap")
        assert first.status_code == 201, first.text
        assert first.json()["saved_profile"] is None  # nothing saved yet: no one-tap offer
        order_id = first.json()["order_id"]
        confirmed = shop.confirm(ADA, order_id, new_card_confirmation("pm_card_visa", remember=True))
        assert confirmed.status_code == 202, confirmed.text
        paid = shop.wait_for(ADA, order_id, PAID_OR_LATER | {"failed"})
        assert paid["state"] == "paid" and paid["card"] == {"brand": "visa", "last4": "4242"}

        second = shop.tap(ADA, "second-tap")
        assert second.status_code == 201, second.text
        deadline = time.monotonic() + 30
        while second.json()["saved_profile"] is None:  # the worker saves the card after the capture
            assert time.monotonic() < deadline, "the paid card was never offered for one tap"
            time.sleep(0.2)
            second = shop.tap(ADA, "second-tap")  # the same key: the same order, answered again
            assert second.status_code == 200, second.text
        offer = second.json()["saved_profile"]
        assert offer["card"]["last4"] == "4242", second.json()
        assert "Analytical" not in str(offer)  # the ship-to is masked
        one_tap = shop.confirm(ADA, second.json()["order_id"], {"use_saved": True})
        assert one_tap.status_code == 202, one_tap.text
        assert shop.wait_for(ADA, second.json()["order_id"], PAID_OR_LATER | {"failed"})["state"] == "paid"

        intents = payment_intents(shop_setup)
        print(f"\n[purchase] payment intents at the fake Stripe: {len(intents)}")
        assert len(intents) == 2, intents
        for intent in intents:
            assert intent["transfer_data"]["destination"] == "acct_1Puddle"
            fee = Money(amount_minor=4_999, currency="USD").fee(500)
            assert (intent["amount_received"], intent["application_fee_amount"]) == (4_999, fee.amount_minor)
        by_order = {i["metadata"]["order_id"]: i for i in intents}
        first_intent, repeat_intent = by_order[order_id], by_order[second.json()["order_id"]]
        assert repeat_intent["customer"] == first_intent["customer"]
        assert repeat_intent["payment_method"] == first_intent["payment_method"]
        assert first_intent["setup_future_usage"] == "off_session"  # kept for one tap later
        received = shop.stripe.charges()["orders"]
        for captured in shop_setup.events(PaymentCaptured, lambda found: len(found) >= 2):
            paid_in = received[captured.order_id]
            assert (captured.amount.amount_minor, captured.platform_fee.amount_minor) == (
                paid_in["amount"],
                paid_in["application_fees"],
            )
            assert captured.payout is not None
            assert captured.payout.amount_minor == paid_in["amount"] - paid_in["application_fees"]
