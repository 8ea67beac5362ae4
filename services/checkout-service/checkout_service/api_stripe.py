"""Stripe's webhook: ``POST /v1/stripe/webhook``, called by Stripe, authenticated by the
``Stripe-Signature`` header alone (verified with the SDK's verifier against
CHECKOUT_STRIPE_WEBHOOK_SECRET; forged, altered, older than five minutes, or a body that is not
an event → 400, nothing changes).

A verified ``payment_intent.*`` event for one of our orders (``metadata.order_id``) becomes
PaymentCheckRequested on that order (cause ``stripe:<event id>``, so Stripe's retries of one
event count once): the payment worker then asks Stripe where the PaymentIntent stands and
settles the order. The event's body is never trusted for the outcome, only as a nudge. Anything
else verified is acknowledged (200) and ignored, so Stripe stops retrying it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request, status

from checkout_service.checkout import Checkout
from checkout_service.order_payment import check_requested
from checkout_service.stripe_gateway import InvalidWebhook, StripeGateway

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/stripe", tags=["stripe"])


def _order_id_of(event: Any) -> str | None:
    try:
        found = event["data"]["object"]["metadata"]["order_id"]
    except (KeyError, TypeError):
        return None
    return found if isinstance(found, str) and found else None


@router.post("/webhook", summary="Stripe's webhook; authenticated by Stripe-Signature")
async def stripe_webhook(request: Request) -> dict[str, str]:
    gateway: StripeGateway = request.app.state.gateway
    payload = await request.body()
    try:
        event = gateway.verify_webhook(payload, request.headers.get("stripe-signature"))
    except InvalidWebhook:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="signature does not verify") from None
    order_id = _order_id_of(event) if str(event["type"]).startswith("payment_intent.") else None
    if order_id is None:
        return {"received": "ignored"}
    checkout: Checkout = request.app.state.checkout
    decide = check_requested("stripe_webhook", checkout.clock(), stripe_event_id=str(event["id"]))
    await asyncio.to_thread(checkout.orders.apply, order_id, decide, cause=f"stripe:{event['id']}")
    log.info("stripe webhook taken", stripe_event_type=str(event["type"]), order_id=order_id)
    return {"received": "ok"}
