"""checkout-service's HTTP routes; they only translate HTTP into a step of checkout.py and answer.

Who may call: every route takes a buyer token (401 without a valid one; 403 for merchant,
service and admin tokens), and a buyer reaches only their own orders (another buyer's answers
404, as a missing one does, so order ids do not leak). Card data anywhere (body, header, path,
query) answers 422 without repeating it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response, status
from pydantic import Field

from buybutton.auth import Principal, require
from buybutton.cursors import parse_cursor
from buybutton.events.envelope import Identifier
from buybutton.inputs import CardFree, StrictInput
from buybutton.rollout import GateRules
from checkout_service.checkout import BuyRequest, Checkout, KeyReused, NotShown, OrderNotFound, TermsUnknown
from checkout_service.holds import SoldOut, UnknownProduct
from checkout_service.order_states import IllegalTransition
from checkout_service.saved_profiles import saved_profile_hint
from checkout_service.views import BuyAnswer, OrderPage, OrderView, buyer_orders, order_view

router = APIRouter(prefix="/v1/orders", tags=["orders"])
Buyer = Annotated[Principal, Depends(require("buyer"))]
OrderId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$", description="the order"), CardFree
]
IdempotencyKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"),
    CardFree,
]


class BuyInput(StrictInput):
    """What a buyer sends; price, fee, currency and merchant are the server's to decide, so a
    field for any of them (or any other) is refused."""

    tweet_id: Identifier
    variant_id: Identifier
    quantity: int = Field(default=1, ge=1, le=10, strict=True)


def _checkout(request: Request) -> Checkout:
    checkout: Checkout = request.app.state.checkout
    return checkout


def _rules(request: Request) -> GateRules | None:
    return request.app.state.rules_replica.rules(request.app.state.rollout_rule)  # type: ignore[no-any-return]


@router.post(
    "",
    status_code=201,
    summary="Tap Buy: hold stock and create the order; buyer token",
    responses={200: {"description": "the order this Idempotency-Key already created"}},
)
async def place_order(
    body: BuyInput, key: IdempotencyKey, buyer: Buyer, request: Request, response: Response
) -> BuyAnswer:
    try:
        placed = await asyncio.to_thread(
            _checkout(request).buy,
            buyer,
            BuyRequest(body.tweet_id, body.variant_id, body.quantity, key),
            _rules(request),
        )
    except UnknownProduct:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such product variant") from None
    except NotShown:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="buying this is not offered to you") from None
    except SoldOut:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="sold out") from None
    except KeyReused:
        detail = "this Idempotency-Key was used for a different order request"
        raise HTTPException(422, detail=detail) from None
    except TermsUnknown:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the seller is not ready yet",
            headers={"Retry-After": "1"},
        ) from None
    if not placed.created:
        response.status_code = status.HTTP_200_OK
    shown = order_view(placed.order_id, placed.order)
    return BuyAnswer(**shown.model_dump(), saved_profile=await saved_profile_hint(request, buyer.subject))


@router.get("", summary="The buyer's own orders, newest first; buyer token")
def list_orders(
    buyer: Buyer,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> OrderPage:
    return buyer_orders(
        request.app.state.orders_collection, buyer.subject, limit=limit, after=parse_cursor(cursor)
    )


@router.get("/{order_id}", summary="One of the buyer's own orders; buyer token")
def get_order(order_id: OrderId, buyer: Buyer, request: Request) -> OrderView:
    try:
        return order_view(order_id, _checkout(request).order_of(buyer, order_id))
    except OrderNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such order") from None


@router.post("/{order_id}/cancel", summary="Cancel a held order, stock back; buyer token")
def cancel_order(order_id: OrderId, buyer: Buyer, request: Request) -> OrderView:
    try:
        return order_view(order_id, _checkout(request).cancel_by_buyer(buyer, order_id))
    except OrderNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such order") from None
    except IllegalTransition:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="the order can no longer be cancelled") from None
