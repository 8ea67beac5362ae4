"""A buyer's first purchase with shipping and a card, then a one-tap repeat purchase with no
card or address input, through vault-service and checkout-service as processes, the real broker
and database server, and the fake Stripe: both PaymentIntents carry the merchant's connected
account and the platform fee, the second uses the saved customer and payment method off
session, and what PaymentCaptured says equals what Stripe received."""

from __future__ import annotations

from typing import Any

import httpx
from shop_support import PAID_OR_LATER, ShopSetup, new_card_confirmation

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
        offer = second.json()["saved_profile"]
        assert offer is not None and offer["card"]["last4"] == "4242", second.json()
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
        first_intent, repeat_intent = sorted(intents, key=lambda i: i["created"])
        assert repeat_intent["customer"] == first_intent["customer"]
        assert repeat_intent["payment_method"] == first_intent["payment_method"]
        assert repeat_intent["off_session"] and not first_intent["off_session"]
