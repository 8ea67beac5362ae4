"""Which Stripe SDK errors the gateway answers how: the one place Stripe failures are classified.

Consumes the SDK's ``stripe.StripeError`` subclasses; produces the outcome errors of
payment_outcomes.py. The rule kept: only what waiting cures is ``StripeUnavailable`` (the caller
retries with the same idempotency key, so a retry never charges twice), and everything else is
permanent.

- connection errors and timeouts (``APIConnectionError``), 5xx and 409 (``APIError``),
  ``lock_timeout``, ``idempotency_key_in_use`` (a concurrent request holds the key), any answer
  with ``Stripe-Should-Retry: true``: ``StripeUnavailable``;
- 429 (``RateLimitError``): waited out by the gateway (``rate_limit_wait_s``), then
  ``StripeUnavailable``;
- an idempotency key reused with other parameters (``IdempotencyError``): ``IdempotencyConflict``;
- other invalid requests, card errors outside a payment, and authentication or permission
  errors (a wrong key: configuration, logged loudly by the gateway): ``StripeRefused(code)``.

Card declines in a payment are not errors here: the gateway turns them into ``Declined``.
"""

from __future__ import annotations

import random

import stripe

from checkout_service.payment_outcomes import IdempotencyConflict, StripeRefused, StripeUnavailable

TRANSIENT_CODES = frozenset({"lock_timeout", "idempotency_key_in_use", "rate_limit"})
CONFLICT = 409
SERVER_ERROR = 500
DEFAULT_RATE_LIMIT_WAIT_S = 1.0  # when a 429 names no Retry-After; jittered to 50-100 %


def header(error: stripe.StripeError, name: str) -> str | None:
    """A response header of ``error``, looked up without regard to case."""
    wanted = name.lower()
    return next((str(v) for k, v in (error.headers or {}).items() if k.lower() == wanted), None)


def error_code(error: stripe.StripeError) -> str | None:
    """Stripe's ``error.code``, or for a card error its ``decline_code`` when there is one."""
    details = error.error
    if isinstance(error, stripe.CardError) and details is not None and details.decline_code:
        return str(details.decline_code)
    return error.code or (str(details.code) if details is not None and details.code else None)


def is_config_error(error: stripe.StripeError) -> bool:
    return isinstance(error, stripe.AuthenticationError | stripe.PermissionError)


def classify(error: stripe.StripeError) -> Exception:
    """The outcome error ``error`` stands for (raise it ``from error``)."""
    code = error_code(error)
    status = error.http_status
    if (
        isinstance(error, stripe.APIConnectionError | stripe.RateLimitError)
        or code in TRANSIENT_CODES
        or header(error, "Stripe-Should-Retry") == "true"
        or (
            isinstance(error, stripe.APIError)
            and (status is None or status >= SERVER_ERROR or status == CONFLICT)
        )
    ):
        return StripeUnavailable(f"Stripe did not answer the request ({_described(error)})")
    if isinstance(error, stripe.IdempotencyError):
        return IdempotencyConflict(f"idempotency key reused with other parameters ({_described(error)})")
    if isinstance(error, stripe.AuthenticationError):
        return StripeRefused("authentication_failed", "Stripe refused the secret key")
    if isinstance(error, stripe.PermissionError):
        return StripeRefused("permission_denied", "the secret key may not make this request")
    return StripeRefused(code or _error_type(error), error.user_message or "refused by Stripe")


def rate_limit_wait_s(error: stripe.StripeError, *, cap_s: float) -> float:
    """How long to wait before sending a rate-limited request again: its Retry-After (seconds),
    at most ``cap_s``; a short jittered wait when it names none."""
    given = header(error, "Retry-After")
    try:
        wait_s = float(given) if given is not None else None
    except ValueError:
        wait_s = None  # an HTTP date: Stripe sends seconds; do not trust a clock we do not share
    if wait_s is None or wait_s < 0:
        wait_s = DEFAULT_RATE_LIMIT_WAIT_S * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not secrecy)
    return min(wait_s, cap_s)


def _error_type(error: stripe.StripeError) -> str:
    details = error.error
    return str(details.type) if details is not None and details.type else type(error).__name__


def _described(error: stripe.StripeError) -> str:
    """Status, code and request id only: never the message (it may echo parameters)."""
    return f"status={error.http_status} code={error_code(error)} request_id={error.request_id}"
