"""The same SDK calls checkout makes are accepted by stripe-mock (Stripe's official mock,
``STRIPE_API_BASE``: request shapes per Stripe's OpenAPI spec) and by the fake Stripe server,
and every field the fake answers with is one stripe-mock's objects have: the two agree on
shapes, so a gateway tested against the fake sends what Stripe accepts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import stripe
from fake_stripe_support import card_payment, stripe_client
from stripe.params import PaymentIntentCreateParams

from devstack.endpoints import Endpoints
from devstack.fake_stripe_fixtures import FakeStripeAccount

Step = Callable[[stripe.StripeClient, dict[str, Any]], Any]

# checkout's calls, in order; each may use what the earlier ones returned
STEPS: list[tuple[str, Step]] = [
    (
        "customer",
        lambda c, _: c.v1.customers.create({"email": "ada@example.com", "metadata": {"buyer_id": "ada"}}),
    ),
    (
        "saved_card",
        lambda c, got: c.v1.payment_methods.attach("pm_card_visa", {"customer": got["customer"].id}),
    ),
    (
        "first_purchase",
        lambda c, got: c.v1.payment_intents.create(
            card_payment(customer=got["customer"].id, setup_future_usage="off_session"),
            {"idempotency_key": "order-raincoat-0001:payment"},
        ),
    ),
    (
        "one_tap",
        lambda c, got: c.v1.payment_intents.create(
            card_payment(got["saved_card"].id, customer=got["customer"].id, off_session=True),
            {"idempotency_key": "order-raincoat-0002:payment"},
        ),
    ),
    ("unconfirmed", lambda c, _: c.v1.payment_intents.create(card_payment(confirm=False))),
    (
        "confirmed",
        lambda c, got: c.v1.payment_intents.confirm(
            got["unconfirmed"].id, {"payment_method": "pm_card_visa"}
        ),
    ),
    ("retrieved", lambda c, got: c.v1.payment_intents.retrieve(got["first_purchase"].id)),
    ("charge", lambda c, got: c.v1.charges.retrieve(str(got["first_purchase"].latest_charge))),
    ("card", lambda c, got: c.v1.payment_methods.retrieve(got["saved_card"].id)),
    (
        "partial_refund",
        lambda c, got: c.v1.refunds.create({"payment_intent": got["first_purchase"].id, "amount": 1000}),
    ),
    (
        "canceled",
        lambda c, _: c.v1.payment_intents.cancel(c.v1.payment_intents.create(card_payment(confirm=False)).id),
    ),
    ("erased", lambda c, got: c.v1.customers.delete(got["customer"].id)),
]

REFUSED: list[tuple[str, PaymentIntentCreateParams]] = [
    ("unknown parameter", card_payment(amount_cents=4999)),
    ("missing amount", card_payment(amount=None)),
]


def _run(client: stripe.StripeClient) -> dict[str, Any]:
    got: dict[str, Any] = {}
    for name, step in STEPS:
        got[name] = step(client, got)
    return got


def _extra_fields(ours: Any, theirs: Any, path: str) -> list[str]:
    """Fields ours has that theirs lacks, at every level where both are objects. Free-form maps
    (metadata) and objects stripe-mock's fixtures leave empty (``{}``) say nothing of fields."""
    if not isinstance(ours, dict) or not isinstance(theirs, dict) or not theirs or path.endswith(".metadata"):
        return []
    extra = [f"{path}.{key}" for key in ours if key not in theirs]
    for key in ours.keys() & theirs.keys():
        extra += _extra_fields(ours[key], theirs[key], f"{path}.{key}")
    return extra


def test_checkouts_calls_are_accepted_by_stripe_mock_and_the_fake_alike(
    endpoints: Endpoints, fake_stripe: FakeStripeAccount
) -> None:
    mock = stripe.StripeClient("sk_test_shapes", base_addresses={"api": endpoints.stripe_api_base})
    from_mock, from_fake = _run(mock), _run(stripe_client(fake_stripe))
    extra = []
    for name, _ in STEPS:
        assert from_fake[name].object == from_mock[name].object, name
        extra += _extra_fields(from_fake[name].to_dict(), from_mock[name].to_dict(), name)
    print(f"{len(STEPS)} calls accepted by both; fields only the fake returns: {extra or 'none'}")
    assert extra == []
    assert from_fake["one_tap"].status == "succeeded" and from_fake["erased"].deleted is True


@pytest.mark.parametrize(("what", "params"), REFUSED, ids=[what for what, _ in REFUSED])
def test_a_malformed_payment_is_refused_by_stripe_mock_and_the_fake_alike(
    endpoints: Endpoints, fake_stripe: FakeStripeAccount, what: str, params: PaymentIntentCreateParams
) -> None:
    mock = stripe.StripeClient("sk_test_shapes", base_addresses={"api": endpoints.stripe_api_base})
    for client in (mock, stripe_client(fake_stripe)):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.payment_intents.create(params)
        assert refused.value.http_status == 400, what
