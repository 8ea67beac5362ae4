"""The merchant's orders over HTTP (merchant token of that merchant, see ``merchant_api``);
routes only translate HTTP into a read of ``merchant_orders`` or a decision of
``merchant_reports``, applied as one unit of work on the order.

- ``GET /v1/merchants/{merchant_id}/orders``: own orders, newest first, ``?limit=1..100`` (20),
  ``?cursor=`` from ``next_cursor``; ``GET .../orders/{order_id}``: one.
- ``POST .../orders/{order_id}/ack``: 200 the order with ``acknowledged_at`` (again: the same).
- ``POST .../orders/{order_id}/shipment`` ``{"carrier", "tracking_number"}``: 200, OrderShipped.
- ``POST .../orders/{order_id}/fulfilment`` ``{"download_link": "https://..."}`` or
  ``{"licence_key"}`` (exactly one): 200, OrderFulfilled.

404 for an order that is not this merchant's (or none); 409 for a report the order cannot take
(refunded or cancelled, a different shipment or fulfilment recorded, shipping a fulfilled
order); 422 for malformed input, unknown fields, and card data anywhere (never repeated).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Self

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import Field, model_validator

from buybutton.cursors import parse_cursor
from buybutton.events.envelope import Identifier
from buybutton.inputs import CardFree, StrictInput
from buybutton.unit_of_work import Decide
from merchant_relay.merchant_api import Api, MerchantApi, OwnMerchant
from merchant_relay.merchant_orders import (
    MerchantOrderPage,
    MerchantOrderView,
    merchant_order,
    merchant_orders,
)
from merchant_relay.merchant_reports import (
    Fulfilment,
    OrderNotFound,
    ReportRefused,
    acknowledged,
    fulfilled,
    shipped,
)

router = APIRouter(prefix="/v1/merchants/{merchant_id}/orders", tags=["merchant orders"])
OrderId = Annotated[Identifier, Path(description="the order"), CardFree]
PrintableText = r"^[^\x00-\x1f\x7f]+$"


class ShipmentInput(StrictInput):
    carrier: str = Field(min_length=1, max_length=60, pattern=PrintableText)
    tracking_number: str = Field(min_length=1, max_length=80, pattern=PrintableText)


class FulfilmentInput(StrictInput):
    download_link: str | None = Field(default=None, min_length=9, max_length=2048, pattern=r"^https://\S+$")
    licence_key: str | None = Field(default=None, min_length=1, max_length=200, pattern=PrintableText)

    @model_validator(mode="after")
    def one_delivery(self) -> Self:
        if (self.download_link is None) == (self.licence_key is None):
            raise ValueError("send download_link or licence_key, exactly one")
        return self


def _shown(api: MerchantApi, merchant_id: str, order_id: str) -> MerchantOrderView:
    found = merchant_order(api.orders_collection, api.deliveries_collection, merchant_id, order_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such order")
    return found


async def _decided(api: MerchantApi, merchant_id: str, order_id: str, decide: Decide) -> MerchantOrderView:
    try:
        await asyncio.to_thread(api.orders.apply, order_id, decide)
    except OrderNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such order") from None
    except ReportRefused as refusal:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(refusal)) from None
    return await asyncio.to_thread(_shown, api, merchant_id, order_id)


@router.get("", summary="Own orders, newest first, with their deliveries; that merchant's token")
def list_orders(
    merchant_id: OwnMerchant,
    api: Api,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> MerchantOrderPage:
    orders, deliveries = api.orders_collection, api.deliveries_collection
    return merchant_orders(orders, deliveries, merchant_id, limit=limit, after=parse_cursor(cursor))


@router.get("/{order_id}", summary="One own order; that merchant's token")
def show_order(merchant_id: OwnMerchant, order_id: OrderId, api: Api) -> MerchantOrderView:
    return _shown(api, merchant_id, order_id)


@router.post("/{order_id}/ack", summary="Acknowledge an order; that merchant's token")
async def acknowledge_order(merchant_id: OwnMerchant, order_id: OrderId, api: Api) -> MerchantOrderView:
    return await _decided(api, merchant_id, order_id, acknowledged(merchant_id, api.clock()))


@router.post("/{order_id}/shipment", summary="Report the shipment (OrderShipped); that merchant's token")
async def report_shipment(
    merchant_id: OwnMerchant, order_id: OrderId, body: ShipmentInput, api: Api
) -> MerchantOrderView:
    decide = shipped(merchant_id, body.carrier, body.tracking_number, api.clock())
    return await _decided(api, merchant_id, order_id, decide)


@router.post(
    "/{order_id}/fulfilment", summary="Report digital delivery (OrderFulfilled); that merchant's token"
)
async def report_fulfilment(
    merchant_id: OwnMerchant, order_id: OrderId, body: FulfilmentInput, api: Api
) -> MerchantOrderView:
    fulfilment = Fulfilment(download_link=body.download_link, licence_key=body.licence_key)
    return await _decided(api, merchant_id, order_id, fulfilled(merchant_id, fulfilment, api.clock()))
