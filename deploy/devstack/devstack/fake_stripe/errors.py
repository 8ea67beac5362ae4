"""Stripe's error object and the HTTP status that carries it.

Produces ``{"error": {"type", "message", "code"?, "decline_code"?, "param"?, ...}}`` with the
fields Stripe leaves out when they do not apply left out here too. Raising ``StripeError``
before anything changed is how an operation refuses a request (Stripe then saves nothing
under the idempotency key); a decline is not raised but answered, because it changes state.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> JSON:
        error: JSON = {"type": self.error_type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param)


def resource_missing(kind: str, object_id: str, *, param: str = "id") -> StripeError:
    return StripeError(
        404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def unexpected_state(message: str) -> StripeError:
    return invalid_request(message, code="payment_intent_unexpected_state")


def not_authenticated(message: str) -> StripeError:
    return StripeError(401, "invalid_request_error", message)


def api_error(message: str) -> StripeError:
    return StripeError(500, "api_error", message)


def rate_limited(retry_after_s: int) -> StripeError:
    return StripeError(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. Retry after the time the Retry-After header gives.",
        code="rate_limit",
        headers={"Retry-After": str(retry_after_s)},
    )


def card_error_body(last_payment_error: JSON, payment_intent: JSON) -> JSON:
    """The 402 answer to a declined confirmation: the error, and the PaymentIntent it left."""
    return {"error": {**last_payment_error, "payment_intent": payment_intent}}
