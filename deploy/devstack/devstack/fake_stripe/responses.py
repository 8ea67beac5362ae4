"""JSON answers with the headers Stripe puts on every response (``Request-Id``,
``Stripe-Version``, the ``Idempotency-Key`` echoed), errors in Stripe's shape."""

from __future__ import annotations

import json

from starlette.responses import Response

from devstack.fake_stripe.errors import JSON, StripeError


def encode(body: JSON) -> bytes:
    return json.dumps(body, indent=2).encode()


def json_response(status: int, body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def error_response(error: StripeError, headers: dict[str, str]) -> Response:
    return json_response(error.status, encode(error.body()), {**headers, **error.headers})
