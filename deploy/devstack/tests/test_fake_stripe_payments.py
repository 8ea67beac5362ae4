"""The fake Stripe server pays, declines and asks for 3-D Secure as Stripe documents, through
the official SDK (StripeClient pointed at the fake), and counts what it charged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe
from fake_stripe_support import RAINCOAT_SHOP, card_payment, stripe_client

from devstack.fake_stripe_fixtures import FakeStripeAccount


def test_a_buyer_pays_with_the_platform_fee_and_the_rest_to_the_merchant(
    fake_stripe: FakeStripeAccount,
) -> None:
    client = stripe_client(fake_stripe)
    buyer = client.v1.customers.create({"email": "ada@example.com", "metadata": {"buyer_id": "buyer-ada"}})
    intent = client.v1.payment_intents.create(
        card_payment(customer=buyer.id), {"idempotency_key": "order-raincoat-0001:payment"}
    )
    assert (intent.status, intent.amount, intent.application_fee_amount) == ("succeeded", 4999, 250)
    assert intent.transfer_data is not None and intent.transfer_data.destination == RAINCOAT_SHOP
    assert intent.metadata["order_id"] == "order-raincoat-0001"

    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.status, charge.amount, charge.application_fee_amount) == ("succeeded", 4999, 250)
    assert charge.payment_intent == intent.id and charge.customer == buyer.id
    card = client.v1.payment_methods.retrieve(str(intent.payment_method)).card
    assert card is not None and (card.brand, card.last4, card.exp_month) == ("visa", "4242", 12)

    counted = fake_stripe.admin.charges()
    print(f"charges counted: {counted['succeeded_charges']}, amount {counted['amount_captured']}")
    assert counted["succeeded_charges"] == 1
    assert counted["payment_intents"][intent.id]["destination"] == RAINCOAT_SHOP
    assert counted["destinations"][RAINCOAT_SHOP] == {
        "charges": 1,
        "amount": 4999,
        "application_fees": 250,
        "amount_refunded": 0,
        "refunds": 0,
    }
    assert counted["orders"]["order-raincoat-0001"]["charges"] == 1


def test_one_tap_repeat_pays_off_session_with_the_saved_customer_and_card(
    fake_stripe: FakeStripeAccount,
) -> None:
    client = stripe_client(fake_stripe)
    buyer = client.v1.customers.create({"email": "ada@example.com"})
    saved = client.v1.payment_methods.attach("pm_card_mastercard", {"customer": buyer.id})
    assert saved.id.startswith("pm_") and saved.id != "pm_card_mastercard" and saved.customer == buyer.id

    repeat = client.v1.payment_intents.create(
        card_payment(
            saved.id, customer=buyer.id, off_session=True, metadata={"order_id": "order-raincoat-0002"}
        )
    )
    assert (repeat.status, repeat.customer, repeat.payment_method) == ("succeeded", buyer.id, saved.id)
    listed = client.v1.customers.payment_methods.list(buyer.id)
    assert [pm.id for pm in listed.data] == [saved.id]

    stranger = client.v1.customers.create({"email": "eve@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(card_payment(saved.id, customer=stranger.id, off_session=True))
    assert refused.value.param == "payment_method"
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1


@pytest.mark.parametrize(
    ("card", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_a_declined_card_answers_402_and_charges_nothing(
    fake_stripe: FakeStripeAccount, card: str, decline_code: str
) -> None:
    client = stripe_client(fake_stripe)
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(card_payment(card))
    error = declined.value
    assert (error.http_status, error.code) == (402, "card_declined")
    assert error.error is not None and error.error.decline_code == decline_code
    intent_id = error.error.payment_intent.id  # type: ignore[union-attr]
    intent = client.v1.payment_intents.retrieve(intent_id)
    assert intent.status == "requires_payment_method" and intent.payment_method is None
    assert intent.last_payment_error is not None and intent.last_payment_error.decline_code == decline_code
    counted = fake_stripe.admin.charges()
    print(f"{card}: succeeded charges {counted['succeeded_charges']}, failed {counted['failed_charges']}")
    assert (counted["succeeded_charges"], counted["failed_charges"], counted["amount_captured"]) == (0, 1, 0)


def test_three_d_secure_requires_action_then_completion_pays(fake_stripe: FakeStripeAccount) -> None:
    client = stripe_client(fake_stripe)
    intent = client.v1.payment_intents.create(card_payment("pm_card_threeDSecure2Required"))
    assert intent.status == "requires_action" and intent.latest_charge is None
    assert intent.next_action is not None and intent.next_action.type == "use_stripe_sdk"
    assert fake_stripe.admin.charges()["succeeded_charges"] == 0

    redirected = client.v1.payment_intents.create(
        card_payment("pm_card_threeDSecure2Required", return_url="https://shop.test/done")
    )
    assert redirected.next_action is not None and redirected.next_action.type == "redirect_to_url"

    fake_stripe.admin.authenticate(intent.id)
    paid = client.v1.payment_intents.retrieve(intent.id)
    assert paid.status == "succeeded" and paid.latest_charge is not None
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1


def test_three_d_secure_with_manual_confirmation_is_confirmed_again_after_completion(
    fake_stripe: FakeStripeAccount,
) -> None:
    client = stripe_client(fake_stripe)
    intent = client.v1.payment_intents.create(
        card_payment("pm_card_threeDSecure2Required", confirmation_method="manual")
    )
    assert intent.status == "requires_action"
    assert client.v1.payment_intents.confirm(intent.id).status == "requires_action"  # not authenticated yet
    fake_stripe.admin.authenticate(intent.id)
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_confirmation"
    assert client.v1.payment_intents.confirm(intent.id).status == "succeeded"
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1


def test_three_d_secure_off_session_or_failed_is_a_decline(fake_stripe: FakeStripeAccount) -> None:
    client = stripe_client(fake_stripe)
    buyer = client.v1.customers.create({"email": "ada@example.com"})
    saved = client.v1.payment_methods.attach("pm_card_threeDSecure2Required", {"customer": buyer.id})
    with pytest.raises(stripe.CardError) as off_session:
        client.v1.payment_intents.create(card_payment(saved.id, customer=buyer.id, off_session=True))
    assert off_session.value.code == "authentication_required"

    challenged = client.v1.payment_intents.create(card_payment("pm_card_threeDSecure2Required"))
    failed = fake_stripe.admin.authenticate(challenged.id, succeed=False)
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    assert fake_stripe.admin.charges()["succeeded_charges"] == 0


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"amount": 0}, "amount", "parameter_invalid_integer"),
        ({"amount": 10}, "amount", "amount_too_small"),
        ({"currency": "xyz"}, "currency", None),
        ({"application_fee_amount": 5000}, "application_fee_amount", None),
        ({"transfer_data": None}, "application_fee_amount", None),
        ({"amount_cents": 4999}, "amount_cents", "parameter_unknown"),
        ({"off_session": True, "confirm": False}, "off_session", None),
    ],
)
def test_a_refused_payment_is_refused_before_anything_happens(
    fake_stripe: FakeStripeAccount, change: dict[str, Any], param: str, code: str | None
) -> None:
    client = stripe_client(fake_stripe)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(card_payment(**change))
    assert (refused.value.http_status, refused.value.param, refused.value.code) == (400, param, code)
    assert fake_stripe.admin.charges()["payment_intents"] == {}
    assert client.v1.events.list().data == []


def test_a_return_url_is_needed_when_redirecting_payment_methods_are_allowed(
    fake_stripe: FakeStripeAccount,
) -> None:
    client = stripe_client(fake_stripe)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(card_payment(payment_method_types=None))
    assert refused.value.param == "return_url"
    no_redirects = {"enabled": True, "allow_redirects": "never"}
    paid = client.v1.payment_intents.create(
        card_payment(payment_method_types=None, automatic_payment_methods=no_redirects)
    )
    assert paid.status == "succeeded"


def test_refunds_partial_then_full_never_more_than_was_paid(fake_stripe: FakeStripeAccount) -> None:
    client = stripe_client(fake_stripe)
    intent = client.v1.payment_intents.create(card_payment())
    first = client.v1.refunds.create({"payment_intent": intent.id, "amount": 1000})
    assert (first.amount, first.status, first.charge) == (1000, "succeeded", intent.latest_charge)
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (1000, False)

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create({"payment_intent": intent.id, "amount": 4000})
    assert too_much.value.param == "amount"
    rest = client.v1.refunds.create({"payment_intent": intent.id, "reverse_transfer": True})
    assert rest.amount == 3999 and rest.transfer_reversal is not None
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (4999, True)
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create({"payment_intent": intent.id, "amount": 1})
    assert again.value.code == "charge_already_refunded"

    counted = fake_stripe.admin.charges()
    print(
        f"refunds {counted['refunds']}, refunded {counted['amount_refunded']} of {counted['amount_captured']}"
    )
    assert (counted["refunds"], counted["amount_refunded"], counted["succeeded_charges"]) == (2, 4999, 1)


def test_a_deleted_customer_is_gone_and_cannot_pay(fake_stripe: FakeStripeAccount) -> None:
    client = stripe_client(fake_stripe)
    buyer = client.v1.customers.create({"email": "ada@example.com", "payment_method": "pm_card_visa"})
    deleted = client.v1.customers.delete(buyer.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (buyer.id, "customer", True)
    assert client.v1.customers.retrieve(buyer.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(card_payment(customer=buyer.id))
    assert (refused.value.code, refused.value.param) == ("resource_missing", "customer")


def test_requests_without_a_test_secret_key_are_refused(fake_stripe: FakeStripeAccount) -> None:
    with pytest.raises(stripe.AuthenticationError):
        stripe_client(fake_stripe, api_key="sk_live_notallowed").v1.customers.create({})
    answer = httpx.post(f"{fake_stripe.url}/v1/customers")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in answer.json()["error"]["message"]
