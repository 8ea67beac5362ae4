"""Every request the Stripe gateway makes is one Stripe's OpenAPI spec accepts: each gateway
call is sent to stripe-mock (``STRIPE_API_BASE``; it validates parameters against the spec and
answers 400 for anything Stripe would refuse as malformed) and must be answered, not refused.
stripe-mock keeps no state, so what it answers is not checked here; the fake Stripe's tests do
that."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import stripe
from checkout_stripe_support import RecordedSleeps, gateway_for, raincoat_payment

from checkout_service.payment_outcomes import CardDisplay, RefundOutcome
from checkout_service.stripe_gateway import StripeGateway
from devstack.endpoints import Endpoints

STRIPE_MOCK_KEY = "sk_test_123CheckoutShapes"  # stripe-mock: sk_test_ and letters or digits


@pytest.fixture
async def gateway(endpoints: Endpoints) -> AsyncIterator[StripeGateway]:
    gateway = gateway_for(endpoints.stripe_api_base, STRIPE_MOCK_KEY, RecordedSleeps())
    yield gateway
    await gateway.aclose()


async def test_every_gateway_request_is_accepted_by_stripe_mock(gateway: StripeGateway) -> None:
    customer = await gateway.ensure_customer(buyer_ref="buyer-ada", idempotency_key="shapes:customer")
    payment_method, card = await gateway.attach_payment_method(
        "pm_card_visa", customer_id=customer, idempotency_key="shapes:card"
    )
    first = raincoat_payment(
        customer, payment_method, return_url="https://buy.example/back", save_for_off_session=True
    )
    one_tap = raincoat_payment(customer, payment_method, order_id="order-raincoat-0002", off_session=True)
    outcomes = [await gateway.pay(first), await gateway.pay(one_tap)]
    intent_id = "pi_raincoat"
    outcomes.append(await gateway.payment_status(intent_id))
    outcomes.append(await gateway.cancel_payment(intent_id, idempotency_key="shapes:cancel"))
    partial = await gateway.refund(
        payment_intent_id=intent_id,
        amount_minor=1_000,
        idempotency_key="shapes:refund",
        metadata={"order_id": "o1"},
    )
    full = await gateway.refund(
        payment_intent_id=intent_id, amount_minor=None, idempotency_key="shapes:rest", metadata={}
    )
    await gateway.delete_customer(customer)

    print(f"stripe-mock answered 9 gateway requests; outcomes: {[type(o).__name__ for o in outcomes]}")
    assert customer.startswith("cus_") and payment_method.startswith("pm_")
    assert isinstance(card, CardDisplay)
    assert all(o.payment_intent_id for o in outcomes if o.payment_intent_id is not None)
    assert isinstance(partial, RefundOutcome) and isinstance(full, RefundOutcome)


def test_stripe_mock_does_refuse_a_request_stripe_would_refuse(endpoints: Endpoints) -> None:
    """The control: without it, an accepting mock would pass the test above whatever we sent."""
    client = stripe.StripeClient(STRIPE_MOCK_KEY, base_addresses={"api": endpoints.stripe_api_base})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.create({"amount": 4_999, "currency": "usd", "not_a_parameter": "x"})  # type: ignore[typeddict-unknown-key]
