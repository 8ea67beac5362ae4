"""What the payment flow writes to its logs: nothing of a buyer's address, card, secrets or
tokens. One shop (vault-service and checkout-service as processes, both logging at DEBUG so
every line they could ever write is shown) on a fake Stripe of this module's own (so its log is
this test's alone), and a buyer whose address is a canary:

- a first purchase with a Visa card and "remember", then a one-tap repeat, then a partial
  refund by the merchant; a purchase with a 3-D Secure card that stops at requires_action
  (its ``client_secret`` is then known to the test); a declined card;
- then the checkout log, the vault log and the fake Stripe's log are read whole.

The rule decided for Stripe's ids: logs may name a PaymentIntent (``pi_...``) and Stripe's
request ids (``req_...``), which is how an operator finds a payment at Stripe; they never name a
customer (``cus_...``) or a payment method (``pm_...``), which identify the buyer and the card
at Stripe and would outlive an erasure (logs are not erased). Nor: the canary (recipient, line1,
line2), the 3-D Secure client secret (anything ``_secret_``), a card number (buybutton.sensitive's
rule), a bearer token (a JWT: ``eyJ``), the Stripe secret key or the webhook secret.
Figures: lines read per log and the ids looked for."""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from checkout_support import PUDDLE
from shop_support import FIRST_ADDRESS, PAID_OR_LATER, Shop, ShopSetup

from buybutton.sensitive import stored_card_numbers
from devstack.components.fake_stripe import FakeStripe, private_fake_stripe

ADA = "buyer-ada-logs"
CANARY = secrets.token_hex(4)
ADDRESS = {
    **FIRST_ADDRESS,
    "recipient": f"Ada Canary{CANARY}",
    "line1": f"{CANARY} Lighthouse Lane",
    "line2": f"Flat Canary-{CANARY}",
}
FORBIDDEN = {
    "a Stripe customer id": re.compile(r"\bcus_[A-Za-z0-9]+"),
    "a Stripe payment method id": re.compile(r"\bpm_[A-Za-z0-9_]+"),
    "a client secret": re.compile(r"_secret_[A-Za-z0-9]+"),
    "a bearer token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}"),
}


def wait_for_refund(shop: Shop, order_id: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while shop.order(ADA, order_id).get("refunded", {}).get("amount_minor") != 1_000:
        assert time.monotonic() < deadline, "the refund never went through"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def own_fake_stripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeStripe]:
    with private_fake_stripe(tmp_path_factory.mktemp("fake-stripe")) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_stripe_server(own_fake_stripe: FakeStripe) -> str:
    """This module's own fake Stripe, so that every line of its log comes from this test."""
    return own_fake_stripe.url


def debug_logs(setup: ShopSetup) -> ShopSetup:
    """The shop with checkout and the vault logging at DEBUG: every line they could write."""
    debugging = setup.with_checkout(LOG_LEVEL="DEBUG")
    vault = {**setup.config.vault, "LOG_LEVEL": "DEBUG"}
    return dataclasses.replace(debugging, config=dataclasses.replace(debugging.config, vault=vault))


def tap_and_confirm(shop: Shop, key: str, body: dict[str, Any]) -> dict[str, Any]:
    tapped = shop.tap(ADA, key)
    assert tapped.status_code == 201, tapped.text
    order_id = tapped.json()["order_id"]
    confirmed = shop.confirm(ADA, order_id, body)
    assert confirmed.status_code == 202, confirmed.text
    return shop.wait_for(ADA, order_id, {"requires_action", "failed", "cancelled"} | PAID_OR_LATER)


def wait_for_one_tap(shop: Shop, key: str) -> str:
    """Tap again with ``key`` until the vault offers the paid card for one tap (saved after the
    capture); the order of that tap."""
    deadline = time.monotonic() + 30
    while (tapped := shop.tap(ADA, key)).json().get("saved_profile") is None:
        assert tapped.status_code in (200, 201), tapped.text
        assert time.monotonic() < deadline, "the paid card was never offered for one tap"
        time.sleep(0.2)
    return str(tapped.json()["order_id"])


def stripe_ids(setup: ShopSetup) -> set[str]:
    """Every customer and payment method id the fake Stripe holds for this test's key."""
    key = setup.config.checkout["CHECKOUT_STRIPE_SECRET_KEY"]
    found: set[str] = set()
    with httpx.Client(base_url=setup.stripe.base_url, auth=(key, "")) as api:
        for intent_id in setup.stripe.charges()["payment_intents"]:
            intent = api.get(f"/v1/payment_intents/{intent_id}").raise_for_status().json()
            found |= {intent["customer"], intent["payment_method"]} - {None}
    return found


def leaks(text: str, known: list[str]) -> list[str]:
    """What of the forbidden is in ``text``, each shown cut short (never a whole secret)."""
    found = [f"{what}: {m.group()[:10]}..." for what, rule in FORBIDDEN.items() for m in rule.finditer(text)]
    found += [f"the value {value[:8]}..." for value in known if value in text]
    found += [f"a card number ending {number[-4:]}" for number in stored_card_numbers(text)]
    return found


def test_the_payment_flow_logs_no_address_card_secret_or_token(
    shop_setup: ShopSetup, own_fake_stripe: FakeStripe
) -> None:
    new_card = {"shipping_address": ADDRESS, "remember": True}
    with debug_logs(shop_setup).open() as shop:
        first = tap_and_confirm(shop, "logs-first", {**new_card, "payment_method": "pm_card_visa"})
        assert first["state"] == "paid", first
        repeat_id = wait_for_one_tap(shop, "logs-repeat")
        assert shop.confirm(ADA, repeat_id, {"use_saved": True}).status_code == 202
        assert shop.wait_for(ADA, repeat_id, PAID_OR_LATER | {"failed"})["state"] == "paid"
        refund = shop.client.post(
            f"/v1/orders/{first['order_id']}/refunds",
            json={"amount_minor": 1_000, "reason": "the hood came loose"},
            headers={**shop.merchant(PUDDLE), "Idempotency-Key": "logs-refund"},
        )
        assert refund.status_code == 202, refund.text
        three_ds = tap_and_confirm(
            shop, "logs-3ds", {**new_card, "payment_method": "pm_card_threeDSecure2Required"}
        )
        assert three_ds["state"] == "requires_action", three_ds
        declined = tap_and_confirm(
            shop, "logs-declined", {**new_card, "payment_method": "pm_card_chargeDeclined"}
        )
        assert declined["state"] == "failed", declined
        wait_for_refund(shop, first["order_id"])
        ids = stripe_ids(shop_setup)
        known = [
            three_ds["next_action"]["client_secret"],
            shop.buyer(ADA)["Authorization"].removeprefix("Bearer "),
            shop_setup.config.checkout["CHECKOUT_STRIPE_SECRET_KEY"],
            shop_setup.webhook_secret,
            *ids,
            *(ADDRESS[line] for line in ("recipient", "line1", "line2")),
        ]
        logs = {
            "checkout": shop.checkouts[0].log_path.read_text(errors="replace"),
            "vault": shop.vault.log_path.read_text(errors="replace"),
            "fake Stripe": own_fake_stripe.settings.log_file(own_fake_stripe.name).read_text(
                errors="replace"
            ),
        }

    for name, text in logs.items():
        print(f"\n[logs] {name}: {len(text.splitlines())} lines, {len(text)} characters read")
    print(
        f"[logs] looked for {len(known)} values ({len(ids)} Stripe customer and payment method ids), "
        f"{len(FORBIDDEN)} patterns and card numbers"
    )
    assert CANARY not in str(ids)  # the canary is only where the test put it
    assert len(logs["checkout"].splitlines()) > 20, "checkout logged next to nothing: nothing is shown"
    found = {name: leaks(text, known) for name, text in logs.items()}
    assert found == {name: [] for name in logs}, found
