"""Where a PaymentIntent stands, from Stripe's own object (as the SDK builds it from an answer),
and the parameters one order's charge is created with."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from checkout_stripe_support import RAINCOAT_SHOP, raincoat_payment

from checkout_service.payment_outcomes import (
    ActionRequired,
    Canceled,
    Captured,
    Declined,
    PaymentOutcome,
    Processing,
)
from checkout_service.stripe_intents import create_parameters, declined_by, outcome_of


def _intent(status: str, **fields: Any) -> stripe.PaymentIntent:
    values = {
        "id": "pi_raincoat",
        "object": "payment_intent",
        "status": status,
        "amount": 4_999,
        "amount_received": 0,
        "currency": "usd",
        "application_fee_amount": 250,
        "transfer_data": {"destination": RAINCOAT_SHOP},
        "client_secret": "pi_raincoat_secret_x",
        "next_action": None,
        "last_payment_error": None,
        **fields,
    }
    return stripe.PaymentIntent.construct_from(values, "sk_test_unit")


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        (
            _intent("succeeded", amount_received=4_999),
            Captured("pi_raincoat", 4_999, "USD", 250, RAINCOAT_SHOP),
        ),
        (
            _intent(
                "requires_action",
                next_action={"type": "redirect_to_url", "redirect_to_url": {"url": "https://3ds.example/x"}},
            ),
            ActionRequired("pi_raincoat", "pi_raincoat_secret_x", "https://3ds.example/x"),
        ),
        (
            _intent("requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}}),
            ActionRequired("pi_raincoat", "pi_raincoat_secret_x", None),
        ),
        (_intent("processing"), Processing("pi_raincoat")),
        (_intent("requires_confirmation"), Processing("pi_raincoat")),
        (_intent("canceled"), Canceled("pi_raincoat")),
        (
            _intent(
                "requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "stolen_card",
                },
            ),
            Declined("pi_raincoat", "stolen_card"),
        ),
        (
            _intent(
                "requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "authentication_required",
                    "decline_code": "card_declined",
                },
            ),
            Declined("pi_raincoat", "authentication_required"),
        ),
        (_intent("requires_payment_method"), Declined("pi_raincoat", "requires_payment_method")),
    ],
    ids=lambda v: getattr(v, "status", type(v).__name__),
)
def test_each_status_maps_to_its_outcome(intent: stripe.PaymentIntent, expected: PaymentOutcome) -> None:
    assert outcome_of(intent) == expected


def test_a_card_error_is_declined_with_the_intent_it_names() -> None:
    body = {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "payment_intent": {"id": "pi_raincoat", "object": "payment_intent"},
        }
    }
    error = stripe.CardError("declined", None, "card_declined", http_status=402, json_body=body)
    assert declined_by(error) == Declined("pi_raincoat", "insufficient_funds")


def test_an_off_session_authentication_error_is_authentication_required_even_without_an_intent() -> None:
    body = {"error": {"type": "card_error", "code": "authentication_required", "decline_code": "x"}}
    error = stripe.CardError("needs 3DS", None, "authentication_required", http_status=402, json_body=body)
    assert declined_by(error) == Declined(None, "authentication_required")


def test_the_charge_sends_the_fee_the_destination_and_the_order_with_lower_case_currency() -> None:
    params = dict(
        create_parameters(raincoat_payment("cus_ada", "pm_visa", return_url="https://buy.example/back"))
    )
    assert params["currency"] == "usd" and params["amount"] == 4_999
    assert params["application_fee_amount"] == 250
    assert params["transfer_data"] == {"destination": RAINCOAT_SHOP}
    assert params["metadata"] == {"tweet_id": "tweet-puddle-raincoat", "order_id": "order-raincoat-0001"}
    assert (params["confirm"], params["off_session"], params["payment_method_types"]) == (
        True,
        False,
        ["card"],
    )
    assert params["return_url"] == "https://buy.example/back"
    assert "setup_future_usage" not in params


def test_one_tap_sends_no_return_url_and_a_zero_fee_is_left_out() -> None:
    request = raincoat_payment(
        "cus_ada", "pm_visa", off_session=True, return_url="https://x.example", application_fee_minor=0
    )
    params = dict(create_parameters(request))
    assert params["off_session"] is True
    assert "return_url" not in params and "application_fee_amount" not in params


def test_remembering_the_card_sets_it_up_for_off_session_use() -> None:
    params = dict(create_parameters(raincoat_payment("cus_ada", "pm_visa", save_for_off_session=True)))
    assert params["setup_future_usage"] == "off_session"
