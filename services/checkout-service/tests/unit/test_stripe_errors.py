"""Stripe's SDK errors, built as the SDK builds them from an answer, classified by the gateway's
one classifier: what waiting cures is StripeUnavailable, the rest is permanent."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from checkout_service.payment_outcomes import IdempotencyConflict, StripeRefused, StripeUnavailable
from checkout_service.stripe_errors import classify, rate_limit_wait_s


def _body(error_type: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": "refused"}
    if code is not None:
        error["code"] = code
    return {"error": error}


def _invalid(code: str, status: int = 400) -> stripe.InvalidRequestError:
    return stripe.InvalidRequestError(
        "refused", None, code, http_status=status, json_body=_body("invalid_request_error", code)
    )


TRANSIENT: list[tuple[str, stripe.StripeError]] = [
    ("connection", stripe.APIConnectionError("connection reset", should_retry=True)),
    ("500", stripe.APIError("boom", http_status=500, json_body=_body("api_error"))),
    ("503", stripe.APIError("unavailable", http_status=503)),
    ("lock_timeout", _invalid("lock_timeout")),
    (
        "key_in_use",
        stripe.APIError(
            "in use", http_status=409, json_body=_body("idempotency_error", "idempotency_key_in_use")
        ),
    ),
    (
        "429",
        stripe.RateLimitError(
            "slow down", http_status=429, json_body=_body("invalid_request_error", "rate_limit")
        ),
    ),
    (
        "should_retry",
        stripe.InvalidRequestError(
            "x", None, "odd", http_status=400, headers={"Stripe-Should-Retry": "true"}
        ),
    ),
]


@pytest.mark.parametrize("error", [e for _, e in TRANSIENT], ids=[n for n, _ in TRANSIENT])
def test_what_waiting_cures_is_unavailable(error: stripe.StripeError) -> None:
    assert isinstance(classify(error), StripeUnavailable)


def test_a_key_reused_with_other_parameters_is_a_conflict() -> None:
    error = stripe.IdempotencyError("other parameters", http_status=400, json_body=_body("idempotency_error"))
    assert isinstance(classify(error), IdempotencyConflict)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (_invalid("resource_missing", 404), "resource_missing"),
        (_invalid("payment_intent_unexpected_state"), "payment_intent_unexpected_state"),
        (
            stripe.InvalidRequestError(
                "no code", None, http_status=400, json_body=_body("invalid_request_error")
            ),
            "invalid_request_error",
        ),
        (stripe.AuthenticationError("bad key", http_status=401), "authentication_failed"),
        (stripe.PermissionError("not allowed", http_status=403), "permission_denied"),
        (stripe.APIError("teapot", http_status=418), "APIError"),
    ],
)
def test_other_refusals_are_permanent_with_their_code(error: stripe.StripeError, code: str) -> None:
    refused = classify(error)
    assert isinstance(refused, StripeRefused)
    assert refused.code == code


def test_a_card_error_outside_a_payment_is_refused_with_its_decline_code() -> None:
    body = {"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}}
    error = stripe.CardError("declined", None, "card_declined", http_status=402, json_body=body)
    refused = classify(error)
    assert isinstance(refused, StripeRefused) and refused.code == "insufficient_funds"


@pytest.mark.parametrize(
    ("headers", "cap_s", "expected"),
    [({"Retry-After": "3"}, 5.0, 3.0), ({"retry-after": "30"}, 5.0, 5.0), ({"Retry-After": "0"}, 5.0, 0.0)],
)
def test_a_429_waits_its_retry_after_up_to_the_cap(
    headers: dict[str, str], cap_s: float, expected: float
) -> None:
    error = stripe.RateLimitError("slow down", http_status=429, headers=headers)
    assert rate_limit_wait_s(error, cap_s=cap_s) == expected


@pytest.mark.parametrize(
    "headers", [{}, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, {"Retry-After": "-1"}]
)
def test_a_429_without_a_usable_retry_after_waits_a_short_jittered_time(headers: dict[str, str]) -> None:
    error = stripe.RateLimitError("slow down", http_status=429, headers=headers)
    waits = {rate_limit_wait_s(error, cap_s=5.0) for _ in range(20)}
    assert all(0.5 <= wait <= 1.0 for wait in waits)
    assert len(waits) > 1, "the default wait is jittered"
    assert rate_limit_wait_s(error, cap_s=0.1) <= 0.1
