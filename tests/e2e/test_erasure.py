"""A buyer's erasure reaches Stripe: a buyer who paid and was remembered erases their data at
vault-service (``DELETE /v1/me/profile``); the vault publishes BuyerDataErased, and
checkout-service deletes the buyer's Stripe customer at the fake Stripe and forgets the mapping
and the orders' payment references, while the orders keep their amounts and fees for analysts.
The one-tap offer is gone, and the buyer's next purchase creates a new Stripe customer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from checkout_support import PRICE
from shop_support import ENDED, Shop, ShopSetup, new_card_confirmation

from buybutton.events import BuyerDataErased
from buybutton.topics import VAULT

ERIN = "buyer-erin-erased"
T = TypeVar("T")


def eventually(what: str, probe: Callable[[], T | None], timeout_s: float = 30) -> T:
    deadline = time.monotonic() + timeout_s
    while (found := probe()) is None:
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.2)
    return found


def customer_of(shop: Shop, order_id: str) -> str:
    intents = shop.stripe.charges()["payment_intents"].values()
    return str(next(i["customer"] for i in intents if i["order_id"] == order_id))


def test_erasure_deletes_the_stripe_customer_and_keeps_the_economics(
    shop_setup: ShopSetup, mongo_client: Any
) -> None:
    db = mongo_client[shop_setup.config.checkout["CHECKOUT_MONGODB_DATABASE"]]
    with shop_setup.open() as shop:
        paid_id = shop.tap(ERIN, "erin-first").json()["order_id"]
        assert shop.confirm(ERIN, paid_id, new_card_confirmation(remember=True)).status_code == 202
        assert shop.wait_for(ERIN, paid_id, ENDED)["state"] == "paid"
        offered = shop.tap_until_offered(ERIN, "erin-offered")["saved_profile"]
        old_customer = customer_of(shop, paid_id)
        assert db.customers.find_one({"_id": ERIN})["customer_id"] == old_customer
        assert shop.stripe_get(f"/v1/customers/{old_customer}").json().get("deleted") is not True

        token = shop.issuer.mint("buyer", ERIN, audience="vault-service", country="US")
        erased = httpx.delete(f"{shop.vault.url}/v1/me/profile", headers={"Authorization": f"Bearer {token}"})
        assert erased.status_code == 204, erased.text
        at_stripe = eventually(
            "the Stripe customer deleted",
            lambda: (
                answer
                if (answer := shop.stripe_get(f"/v1/customers/{old_customer}")).status_code == 404
                or answer.json().get("deleted") is True
                else None
            ),
        )
        mapping = eventually(
            "the mapping forgotten",
            lambda: (
                found
                if (found := db.customers.find_one({"_id": ERIN})) and not found["customer_id"]
                else None
            ),
        )
        kept = eventually(
            "the order's payment references forgotten",
            lambda: (
                found if "payment_method_id" not in (found := db.orders.find_one({"_id": paid_id})) else None
            ),
        )
        shown = shop.order(ERIN, paid_id)

        after = shop.tap(ERIN, "erin-after")
        assert after.status_code == 201, after.text
        assert (
            shop.confirm(ERIN, after.json()["order_id"], new_card_confirmation(remember=False)).status_code
            == 202
        )
        assert shop.wait_for(ERIN, after.json()["order_id"], ENDED)["state"] == "paid"
        new_customer = customer_of(shop, after.json()["order_id"])
        remapped = db.customers.find_one({"_id": ERIN})
        published = shop_setup.events(BuyerDataErased, lambda found: len(found) >= 1, topic=VAULT)
    print(
        f"\n[erasure] one-tap offer before {offered is not None}, after {after.json()['saved_profile']};"
        f" Stripe customer {old_customer} → {at_stripe.status_code} {at_stripe.json().get('deleted')};"
        f" mapping generation {mapping['generation']}; order kept amount {kept['amount']['amount_minor']}"
        f" fee {kept['platform_fee']['amount_minor']}; next purchase's customer {new_customer};"
        f" BuyerDataErased {len(published)}"
    )
    assert offered is not None and after.json()["saved_profile"] is None
    assert [e.buyer_id for e in published] == [ERIN]
    assert mapping["generation"] == 1 and mapping["erased_at"] is not None
    assert (kept["amount"]["amount_minor"], kept["platform_fee"]["amount_minor"]) == (
        PRICE.amount_minor,
        PRICE.fee(500).amount_minor,
    )
    assert (
        kept["state"] == "paid" and "card" not in kept and kept["confirmation"]["payment_method_ref"] is None
    )
    assert shown["amount"]["amount_minor"] == PRICE.amount_minor and shown["card"] is None
    assert new_customer != old_customer and remapped["customer_id"] == new_customer
