"""The Stripe gateway against the fake Stripe server (a real process, this test's own key):
Given a buyer's customer and card, When the gateway pays, cancels or refunds, Then it answers
what Stripe did, and the fake's charge count agrees (one charge per order, whatever the retries)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from checkout_stripe_support import (
    RAINCOAT_SHOP,
    RecordedSleeps,
    charge_figures,
    gateway_for,
    raincoat_payment,
)

from checkout_service.payment_outcomes import (
    ActionRequired,
    Canceled,
    Captured,
    Declined,
    IdempotencyConflict,
    StripeRefused,
)
from checkout_service.stripe_gateway import StripeGateway
from devstack.fake_stripe_fixtures import FakeStripeAccount


@pytest.fixture
async def gateway(fake_stripe: FakeStripeAccount) -> AsyncIterator[StripeGateway]:
    gateway = gateway_for(fake_stripe.url, fake_stripe.api_key, RecordedSleeps())
    yield gateway
    await gateway.aclose()


async def _buyer_with_card(gateway: StripeGateway, card: str = "pm_card_visa") -> tuple[str, str]:
    customer = await gateway.ensure_customer(buyer_ref="buyer-ada", idempotency_key="buyer-ada:customer")
    payment_method, _ = await gateway.attach_payment_method(
        card, customer_id=customer, idempotency_key=f"buyer-ada:{card}"
    )
    return customer, payment_method


async def test_a_visa_card_is_captured_with_the_fee_and_the_destination_sent(
    gateway: StripeGateway, fake_stripe: FakeStripeAccount
) -> None:
    customer = await gateway.ensure_customer(buyer_ref="buyer-ada", idempotency_key="buyer-ada:customer")
    payment_method, card = await gateway.attach_payment_method(
        "pm_card_visa", customer_id=customer, idempotency_key="buyer-ada:card"
    )
    outcome = await gateway.pay(raincoat_payment(customer, payment_method, save_for_off_session=True))

    assert customer.startswith("cus_")
    assert payment_method.startswith("pm_") and payment_method != "pm_card_visa"
    assert (card.brand, card.last4) == ("visa", "4242") and card.exp_year >= 2025
    assert isinstance(outcome, Captured)
    assert (outcome.amount_minor, outcome.currency, outcome.application_fee_minor) == (4_999, "USD", 250)
    assert outcome.destination_account == RAINCOAT_SHOP
    figures = charge_figures(fake_stripe.admin)
    row = figures["report"]["payment_intents"][outcome.payment_intent_id]
    assert figures["charges"] == 1
    assert (row["amount"], row["application_fee_amount"], row["destination"]) == (4_999, 250, RAINCOAT_SHOP)
    assert row["order_id"] == "order-raincoat-0001" and row["customer"] == customer


async def test_attaching_again_to_the_same_customer_is_fine_and_to_another_is_refused(
    gateway: StripeGateway,
) -> None:
    customer, payment_method = await _buyer_with_card(gateway)
    again, _ = await gateway.attach_payment_method(
        payment_method, customer_id=customer, idempotency_key="buyer-ada:card-again"
    )
    other = await gateway.ensure_customer(buyer_ref="buyer-grace", idempotency_key="buyer-grace:customer")

    assert again == payment_method
    with pytest.raises(StripeRefused):
        await gateway.attach_payment_method(payment_method, customer_id=other, idempotency_key="grace:card")
    with pytest.raises(StripeRefused) as unknown:
        await gateway.attach_payment_method("pm_unknown", customer_id=customer, idempotency_key="ada:unknown")
    assert unknown.value.code == "resource_missing"


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
async def test_a_declined_card_is_declined_with_its_code(
    gateway: StripeGateway, fake_stripe: FakeStripeAccount, card: str, code: str
) -> None:
    customer, payment_method = await _buyer_with_card(gateway, card)
    outcome = await gateway.pay(raincoat_payment(customer, payment_method))

    assert isinstance(outcome, Declined)
    assert outcome.code == code and outcome.payment_intent_id is not None
    assert await gateway.payment_status(outcome.payment_intent_id) == outcome
    assert charge_figures(fake_stripe.admin)["charges"] == 0


async def test_3d_secure_on_session_asks_for_action_then_completes_or_fails(
    gateway: StripeGateway, fake_stripe: FakeStripeAccount
) -> None:
    customer, payment_method = await _buyer_with_card(gateway, "pm_card_threeDSecure2Required")
    first = await gateway.pay(
        raincoat_payment(customer, payment_method, return_url="https://buy.example/back")
    )
    second = await gateway.pay(raincoat_payment(customer, payment_method, order_id="order-raincoat-0002"))
    assert isinstance(first, ActionRequired) and isinstance(second, ActionRequired)
    assert first.client_secret.startswith(f"{first.payment_intent_id}_secret_")
    assert first.redirect_url is not None and second.redirect_url is None

    fake_stripe.admin.authenticate(first.payment_intent_id)
    fake_stripe.admin.authenticate(second.payment_intent_id, succeed=False)

    captured = await gateway.payment_status(first.payment_intent_id)
    failed = await gateway.payment_status(second.payment_intent_id)
    assert isinstance(captured, Captured) and captured.amount_minor == 4_999
    assert isinstance(failed, Declined) and failed.code == "authentication_failure"
    assert charge_figures(fake_stripe.admin)["charges"] == 1


async def test_3d_secure_off_session_is_declined_as_authentication_required(gateway: StripeGateway) -> None:
    customer, payment_method = await _buyer_with_card(gateway, "pm_card_threeDSecure2Required")
    outcome = await gateway.pay(raincoat_payment(customer, payment_method, off_session=True))

    assert isinstance(outcome, Declined)
    assert outcome.code == "authentication_required"


async def test_one_key_pays_once_and_the_same_key_with_another_amount_is_a_conflict(
    gateway: StripeGateway, fake_stripe: FakeStripeAccount
) -> None:
    customer, payment_method = await _buyer_with_card(gateway)
    first = await gateway.pay(raincoat_payment(customer, payment_method))
    again = await gateway.pay(raincoat_payment(customer, payment_method))
    with pytest.raises(IdempotencyConflict):
        await gateway.pay(raincoat_payment(customer, payment_method, amount_minor=5_999))

    figures = charge_figures(fake_stripe.admin)
    charges, doubles = figures["charges"], figures["double_charges"]
    print(f"payments sent: 3 with one key; charges: {charges}; double charges: {doubles}")
    assert isinstance(first, Captured) and again == first
    assert (figures["charges"], figures["double_charges"]) == (1, 0)


async def test_cancel_before_capture_and_after_it_answers_where_the_payment_stands(
    gateway: StripeGateway, fake_stripe: FakeStripeAccount
) -> None:
    customer, secure_card = await _buyer_with_card(gateway, "pm_card_threeDSecure2Required")
    waiting = await gateway.pay(raincoat_payment(customer, secure_card))
    assert isinstance(waiting, ActionRequired)
    canceled = await gateway.cancel_payment(waiting.payment_intent_id, idempotency_key="order-0001:cancel")

    visa = (await gateway.attach_payment_method("pm_card_visa", customer_id=customer, idempotency_key="v"))[0]
    paid = await gateway.pay(raincoat_payment(customer, visa, order_id="order-raincoat-0002"))
    assert isinstance(paid, Captured)
    too_late = await gateway.cancel_payment(paid.payment_intent_id, idempotency_key="order-0002:cancel")

    assert canceled == Canceled(waiting.payment_intent_id)
    assert too_late == paid
    assert charge_figures(fake_stripe.admin)["charges"] == 1


async def test_refunds_partial_then_the_rest_and_no_more(
    gateway: StripeGateway, fake_stripe: FakeStripeAccount
) -> None:
    customer, payment_method = await _buyer_with_card(gateway)
    paid = await gateway.pay(raincoat_payment(customer, payment_method))
    assert isinstance(paid, Captured)
    intent = paid.payment_intent_id

    partial = await gateway.refund(
        payment_intent_id=intent, amount_minor=1_000, idempotency_key="r1", metadata={"order_id": "o1"}
    )
    replayed = await gateway.refund(
        payment_intent_id=intent, amount_minor=1_000, idempotency_key="r1", metadata={"order_id": "o1"}
    )
    rest = await gateway.refund(
        payment_intent_id=intent, amount_minor=None, idempotency_key="r2", metadata={}
    )
    with pytest.raises(StripeRefused) as more:
        await gateway.refund(payment_intent_id=intent, amount_minor=1, idempotency_key="r3", metadata={})

    assert (partial.amount_minor, partial.status) == (1_000, "succeeded") and replayed == partial
    assert rest.amount_minor == 3_999
    assert more.value.code == "charge_already_refunded"
    row = charge_figures(fake_stripe.admin)["report"]["payment_intents"][intent]
    assert (row["amount_refunded"], row["refunds"]) == (4_999, 2)


async def test_deleting_a_customer_twice_or_one_never_made_is_done(gateway: StripeGateway) -> None:
    customer, _ = await _buyer_with_card(gateway)
    await gateway.delete_customer(customer)
    await gateway.delete_customer(customer)
    await gateway.delete_customer("cus_neverMade")

    with pytest.raises(StripeRefused):
        await gateway.attach_payment_method("pm_card_visa", customer_id=customer, idempotency_key="after")
