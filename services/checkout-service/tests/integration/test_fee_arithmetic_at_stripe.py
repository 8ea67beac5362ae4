"""Fee arithmetic from the order to what Stripe received, over generated amounts and rates.

The rounding rule: amounts are integer minor units; an order's amount is the unit price times
the quantity; the platform fee is ``amount * fee_bps / 10 000`` rounded half up to the minor
unit (``(amount * fee_bps + 5 000) // 10 000``, integers only: ``buybutton.money.Money.fee``,
as checkout's README states); the merchant's payout is the amount less the fee.

Given an order built by checkout's own decisions (``orders.create`` from a Draft, then
``order_payment.confirm``) for amount_minor from the currency's Stripe minimum to 10^8 and
fee_bps from 0 to 10 000 (1 and 9 999 among them), When checkout's payment worker pays it through
the StripeGateway at the fake Stripe (this test's own key, a Visa card) and records the capture
with ``order_payment.captured``, Then the PaymentCaptured it publishes carries exactly the amount
and fee the fake recorded for the order (``/_fake/charges``: amount, application_fees), the payout
is their difference, and the fee follows the rounding rule.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta

from checkout_stripe_support import RecordedSleeps, gateway_for
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from buybutton.events import PaymentCaptured
from buybutton.money import Money
from buybutton.unit_of_work import InMemoryAggregateStore
from checkout_service import order_payment, orders
from checkout_service.order_payment import Confirmation
from checkout_service.payment_worker import PaymentWorker
from checkout_service.vault_client import VaultClient
from devstack.fake_stripe.currencies import MINIMUM_AMOUNTS
from devstack.fake_stripe_fixtures import FakeStripeAccount

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LARGEST = 10**8
CURRENCIES = ("USD", "EUR", "GBP", "JPY")
RAINCOAT_SHOP = "acct_1PuddleRaincoats"
NO_VAULT = "http://127.0.0.1:9"  # a first purchase without "remember" never calls the vault
fee_rates = st.one_of(st.sampled_from([0, 1, 5_000, 9_999, 10_000]), st.integers(0, 10_000))


@st.composite
def unit_prices_and_quantities(draw: st.DrawFn) -> tuple[Money, int]:
    """A unit price and a quantity whose amount lies between the currency's minimum and 10^8."""
    currency = draw(st.sampled_from(CURRENCIES))
    quantity = draw(st.integers(1, 10))
    lowest = -(-MINIMUM_AMOUNTS[currency.lower()] // quantity)
    unit = draw(
        st.one_of(st.just(lowest), st.just(LARGEST // quantity), st.integers(lowest, LARGEST // quantity))
    )
    return Money(amount_minor=unit, currency=currency), quantity


def confirmed_order(unit_price: Money, quantity: int, fee_bps: int) -> tuple[InMemoryAggregateStore, str]:
    """An order created and confirmed by checkout's decisions, paid with the test Visa."""
    order_id = f"ord_fees_{secrets.token_hex(8)}"
    draft = orders.Draft(
        order_id=order_id,
        buyer_id="buyer-ada-fees",
        tweet_id="tweet-puddle-raincoat",
        merchant_id="merchant-puddle",
        product_id="product-tweet-puddle-raincoat",
        variant_id="raincoat-m",
        quantity=quantity,
        unit_price=unit_price,
        fee_bps=fee_bps,
        stripe_account_id=RAINCOAT_SHOP,
        hold_expires_at=NOW + timedelta(minutes=10),
        created_at=NOW,
        idempotency_key_hash=orders.digest("key", order_id),
        request_fingerprint=orders.request_fingerprint("tweet-puddle-raincoat", "raincoat-m", quantity),
    )
    store = InMemoryAggregateStore()
    store.apply(order_id, orders.create(draft))
    confirmation = Confirmation(uses_saved_profile=False, payment_method_ref="pm_card_visa", remember=False)
    store.apply(order_id, order_payment.confirm(confirmation, NOW))
    return store, order_id


async def pay_at_the_fake(
    fake_stripe: FakeStripeAccount, store: InMemoryAggregateStore, order_id: str
) -> None:
    gateway = gateway_for(fake_stripe.url, fake_stripe.api_key, RecordedSleeps())
    vault = VaultClient(NO_VAULT, lambda: {})
    worker = PaymentWorker(
        orders=store,
        customers=InMemoryAggregateStore(),
        catalogue=InMemoryAggregateStore(),
        gateway=gateway,
        vault=vault,
        clock=lambda: NOW,
    )
    try:
        await worker.settle(order_id)  # attach, pay, then order_payment.captured(outcome)
    finally:
        await gateway.aclose()
        await vault.stop()


def test_payment_captured_equals_what_stripe_received_and_rounds_half_up(
    fake_stripe: FakeStripeAccount,
) -> None:
    seen: Counter[str] = Counter()

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(priced=unit_prices_and_quantities(), fee_bps=fee_rates)
    @example(priced=(Money(amount_minor=50, currency="USD"), 1), fee_bps=1)  # 0.005 -> 0
    @example(priced=(Money(amount_minor=150, currency="USD"), 1), fee_bps=100)  # 1.5 -> 2 (half up)
    @example(priced=(Money(amount_minor=5_000, currency="JPY"), 1), fee_bps=1)  # 0.5 -> 1 (half up)
    @example(priced=(Money(amount_minor=10_000_000, currency="USD"), 10), fee_bps=9_999)
    @example(priced=(Money(amount_minor=LARGEST, currency="EUR"), 1), fee_bps=10_000)
    def paid(priced: tuple[Money, int], fee_bps: int) -> None:
        unit_price, quantity = priced
        store, order_id = confirmed_order(unit_price, quantity, fee_bps)
        asyncio.run(pay_at_the_fake(fake_stripe, store, order_id))

        [captured] = [e for e in store.published if isinstance(e, PaymentCaptured)]
        received = fake_stripe.admin.charges()["orders"][order_id]
        amount = unit_price.amount_minor * quantity
        assert received["charges"] == 1
        assert captured.amount == Money(amount_minor=received["amount"], currency=unit_price.currency)
        assert captured.platform_fee.amount_minor == received["application_fees"]
        assert captured.payout is not None
        assert captured.payout.amount_minor == received["amount"] - received["application_fees"]
        assert captured.amount.amount_minor == amount and captured.fee_bps == fee_bps
        assert captured.platform_fee.amount_minor == (amount * fee_bps + 5_000) // 10_000
        assert -5_000 < captured.platform_fee.amount_minor * 10_000 - amount * fee_bps <= 5_000
        seen["orders"] += 1
        seen["rounded up"] += (amount * fee_bps) % 10_000 >= 5_000
        seen["rounded down"] += 0 < (amount * fee_bps) % 10_000 < 5_000
        seen["exact"] += (amount * fee_bps) % 10_000 == 0

    paid()
    report = fake_stripe.admin.charges()
    print(
        f"\n[fees] {dict(seen)}; fake Stripe: {report['succeeded_charges']} charges, "
        f"{report['amount_captured']} captured, {report['application_fees']} in fees"
    )
    assert seen["rounded up"] and seen["rounded down"] and seen["exact"]
    assert report["succeeded_charges"] == seen["orders"]
