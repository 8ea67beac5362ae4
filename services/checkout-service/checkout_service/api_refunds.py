"""Refunds, full or partial: ``POST /v1/orders/{order_id}/refunds`` by a platform admin (scope
``refunds:write``) or by the order's merchant (a merchant token tweet-service issued for the
merchant's API key). Another merchant's order answers 404, as a missing one does.

Body ``{"amount_minor": n (optional: all that is left), "reason": "..."}`` and the header
``Idempotency-Key``: the refund id is a pure function of (order, key), so a retry asks for the
same refund, never a second. 202 with the refund ``requested``: RefundRequested goes through the
order's outbox and the payment worker refunds it at Stripe (idempotency key ``refund:<id>``),
then PaymentRefunded; the order is ``refunded`` once all of it went back. 409 when the order is
not paid or the amount exceeds what is left to refund.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from buybutton.auth import Principal, require
from buybutton.inputs import StrictInput
from buybutton.money import Money
from buybutton.sensitive import card_free_derived
from checkout_service.api import IdempotencyKey, OrderId
from checkout_service.checkout import Checkout
from checkout_service.order_payment import RefundRefused, refund_requested
from checkout_service.orders import digest

router = APIRouter(prefix="/v1/orders", tags=["refunds"])
Refunder = Annotated[Principal, Depends(require("admin", "merchant"))]
ADMIN_SCOPE = "refunds:write"


class RefundInput(StrictInput):
    amount_minor: int | None = Field(default=None, ge=1, le=10**12, strict=True)
    reason: str = Field(min_length=1, max_length=200)


class RefundAnswer(BaseModel):
    order_id: str
    refund_id: str
    amount: Money
    status: str
    refunded: Money


def refund_id_for(order_id: str, key: str) -> str:
    return card_free_derived(lambda attempt: "rf_" + digest("refund", order_id, key, attempt)[:28])


def _requested_by(caller: Principal, merchant_id: str) -> Literal["admin", "merchant"] | None:
    if caller.kind == "admin":
        return "admin" if ADMIN_SCOPE in caller.scopes else None
    return "merchant" if caller.subject == merchant_id else None


@router.post("/{order_id}/refunds", status_code=202, summary="Refund an order; admin or its merchant")
async def refund_order(
    order_id: OrderId, body: RefundInput, key: IdempotencyKey, caller: Refunder, request: Request
) -> RefundAnswer:
    checkout: Checkout = request.app.state.checkout
    order = (await asyncio.to_thread(checkout.orders.load, order_id)).state
    by = _requested_by(caller, str(order["merchant_id"])) if order else None
    if caller.kind == "admin" and by is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"needs the scope {ADMIN_SCOPE}")
    if order is None or by is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such order")
    refund_id = refund_id_for(order_id, key)
    decide = refund_requested(refund_id, body.amount_minor, by, body.reason, checkout.clock())
    try:
        outcome = await asyncio.to_thread(checkout.orders.apply, order_id, decide)
    except RefundRefused as refusal:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(refusal)) from None
    state = outcome.aggregate.state
    assert state is not None
    entry = next(r for r in state["refunds"] if r["refund_id"] == refund_id)
    currency = state["amount"]["currency"]
    return RefundAnswer(
        order_id=order_id,
        refund_id=refund_id,
        amount=Money(amount_minor=entry["amount_minor"], currency=currency),
        status=entry["status"],
        refunded=Money(**state["refunded"]),
    )
