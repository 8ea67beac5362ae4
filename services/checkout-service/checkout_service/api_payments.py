"""The buyer's payment routes: confirm an order (first purchase or one tap) and follow its state
live. Both take a buyer token and reach only the buyer's own orders (another's answers 404).

- ``POST /v1/orders/{order_id}/confirm``: ``{"shipping_address": {...}, "payment_method":
  "pm_...", "remember": bool}`` or ``{"use_saved": true}`` → 202 the order, now ``confirming``;
  the payment worker charges it and the order moves on to paid, requires_action (with
  ``next_action``) or failed. 409 when the order is past held (cancelled, expired, confirmed with
  other details) or one tap finds no saved payment method; 503 with Retry-After while the vault
  is away.
- ``GET /v1/orders/{order_id}/events``: server-sent events, one ``state`` event (the order as
  GET shows it) now and on every change, until the order is paid, failed, cancelled or later, or
  ``STREAM_LIMIT_S`` passes; a comment line every ``HEARTBEAT_S`` keeps proxies from closing it.
  ``?until=delivered`` follows the order past payment: the stream ends once the merchant
  reported it shipped or fulfilled (with the tracking number or the download), or it failed,
  was cancelled or refunded. Payment is what a buyer waits for on the page; delivery can take
  days, so following it is asked for, not the default.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal, Self

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import Field, model_validator

from buybutton.addresses import ShippingAddress
from buybutton.inputs import StrictInput
from checkout_service.api import Buyer, OrderId
from checkout_service.checkout import Checkout, OrderNotFound
from checkout_service.confirming import Confirmer, ConfirmRequest, NoSavedProfile
from checkout_service.order_payment import ConfirmConflict, HoldExpired
from checkout_service.vault_client import VaultUnavailable
from checkout_service.views import OrderView, order_view

router = APIRouter(prefix="/v1/orders", tags=["payment"])
PaymentMethodRef = Annotated[str, Field(pattern=r"^pm_[A-Za-z0-9_]{1,100}$")]
SETTLED = frozenset({"paid", "forwarded", "shipped", "fulfilled", "failed", "cancelled", "refunded"})
DELIVERED = frozenset({"shipped", "fulfilled", "failed", "cancelled", "refunded"})
ENDS_AT = {"paid": SETTLED, "delivered": DELIVERED}
POLL_S = 0.25
HEARTBEAT_S = 15.0
STREAM_LIMIT_S = 900.0


class ConfirmInput(StrictInput):
    """One tap (``use_saved``) or new details (address and payment method), never both."""

    use_saved: bool = False
    shipping_address: ShippingAddress | None = None
    payment_method: PaymentMethodRef | None = Field(
        default=None, description="the PaymentMethod id Stripe.js gave (pm_...), never card data"
    )
    remember: bool = Field(default=False, description="keep the address and card for one tap next time")

    @model_validator(mode="after")
    def one_way_to_pay(self) -> Self:
        given = self.shipping_address is not None or self.payment_method is not None
        if self.use_saved and (given or self.remember):
            raise ValueError("use_saved takes no shipping_address, payment_method or remember")
        if not self.use_saved and (self.shipping_address is None or self.payment_method is None):
            raise ValueError("send shipping_address and payment_method, or use_saved: true")
        return self


def _confirmer(request: Request) -> Confirmer:
    confirmer: Confirmer = request.app.state.confirmer
    return confirmer


@router.post("/{order_id}/confirm", status_code=202, summary="Confirm and pay a held order; buyer token")
async def confirm_order(order_id: OrderId, body: ConfirmInput, buyer: Buyer, request: Request) -> OrderView:
    asked = ConfirmRequest(body.use_saved, body.shipping_address, body.payment_method, body.remember)
    try:
        order = await _confirmer(request).confirm(buyer, order_id, asked)
    except OrderNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such order") from None
    except NoSavedProfile:
        detail = "nothing saved to pay with in one tap: send shipping_address and payment_method"
        raise HTTPException(status.HTTP_409_CONFLICT, detail=detail) from None
    except HoldExpired:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="the hold expired: tap Buy again") from None
    except ConfirmConflict as conflict:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"cannot confirm: {conflict}") from None
    except VaultUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="saving the details is not possible right now; try again",
            headers={"Retry-After": "2"},
        ) from None
    return order_view(order_id, order)


@router.get("/{order_id}/events", summary="The order's state, live (server-sent events); buyer token")
async def order_events(
    order_id: OrderId,
    buyer: Buyer,
    request: Request,
    until: Annotated[Literal["paid", "delivered"], Query(description="when the stream ends")] = "paid",
) -> StreamingResponse:
    checkout: Checkout = request.app.state.checkout
    ends_at = ENDS_AT[until]
    try:
        first = await asyncio.to_thread(checkout.order_of, buyer, order_id)
    except OrderNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such order") from None

    async def stream() -> AsyncIterator[str]:
        shown, order = "", first
        started = last_sent = time.monotonic()
        while True:
            view = order_view(order_id, order).model_dump_json()
            if view != shown:
                shown, last_sent = view, time.monotonic()
                yield f"event: state\ndata: {view}\n\n"
                if order["state"] in ends_at:
                    return
            elif time.monotonic() - last_sent > HEARTBEAT_S:
                last_sent = time.monotonic()
                yield ": still here\n\n"
            if time.monotonic() - started > STREAM_LIMIT_S or await request.is_disconnected():
                return
            await asyncio.sleep(POLL_S)
            order = await asyncio.to_thread(checkout.order_of, buyer, order_id)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
