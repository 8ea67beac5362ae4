"""vault-service's HTTP API for checkout-service's purchase flow (service tokens only):

    PATCH /v1/buyers/{buyer_id}/profile                   profiles:write  204: after a captured
          first purchase with remember=true; only the fields sent change (checkout_profile.py)
    PUT   /v1/buyers/{buyer_id}/orders/{order_id}/shipping profiles:write  204: that one order's
          address (order_addresses.py); 409 once the order is paid, 403 for another buyer's
    GET   /v1/buyers/{buyer_id}/saved-profile             profiles:hint   200: what the Buy answer
          shows (masked card and default address, whether one tap can pay); 404 without a
          profile or without the buyer's remember_me consent

Bodies are ``StrictInput``: card data anywhere answers 422 naming where, never what. The hint's
read is audited like every decrypted read, and it answers only masked data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status

from buybutton.addresses import ShippingAddress
from buybutton.auth import Principal, require
from buybutton.inputs import CardFree, StrictInput
from vault_service.api import BuyerId, ProfileWriter, vault
from vault_service.checkout_profile import CheckoutProfilePatch
from vault_service.order_addresses import AnotherBuyersOrder, OrderAlreadyPaid, store_order_address
from vault_service.profile import mask_address

router = APIRouter(prefix="/v1")
HintReader = Annotated[Principal, Depends(require("service", scopes=["profiles:hint"]))]
OrderIdInPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$"), CardFree]
HINT_FIELDS = ("card", "shipping_addresses", "default_payment_method_id")


class OrderShippingIn(StrictInput):
    shipping_address: ShippingAddress


@router.patch(
    "/buyers/{buyer_id}/profile",
    status_code=204,
    summary="Change some of a buyer's profile after a purchase; service with profiles:write",
)
def patch_profile(
    buyer_id: BuyerId, changes: CheckoutProfilePatch, caller: ProfileWriter, request: Request
) -> Response:
    vault(request).edit(buyer_id, changes, actor=caller)
    return Response(status_code=204)


@router.put(
    "/buyers/{buyer_id}/orders/{order_id}/shipping",
    status_code=204,
    summary="The shipping address of one order; service with profiles:write",
)
def put_order_shipping(
    buyer_id: BuyerId, order_id: OrderIdInPath, body: OrderShippingIn, caller: ProfileWriter, request: Request
) -> Response:
    try:
        store_order_address(vault(request), buyer_id, order_id, body.shipping_address, actor=caller)
    except OrderAlreadyPaid:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="the order is paid; its address is final"
        ) from None
    except AnotherBuyersOrder:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="not an order of this buyer") from None
    return Response(status_code=204)


@router.get(
    "/buyers/{buyer_id}/saved-profile",
    summary="Masked card and default address for the Buy answer; service with profiles:hint",
)
def get_saved_profile(buyer_id: BuyerId, caller: HintReader, request: Request) -> dict[str, Any]:
    stored = vault(request).read(buyer_id, HINT_FIELDS, actor=caller, purpose="offer one tap on a Buy answer")
    if stored is None or not stored.consents.remember_me:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no remembered profile for this buyer")
    default = next((a for a in stored.values.get("shipping_addresses", []) if a["is_default"]), None)
    card = stored.values.get("card")
    return {
        "card": {name: card[name] for name in ("brand", "last4", "exp_month", "exp_year")} if card else None,
        "ship_to": mask_address(default) if default else None,
        "has_payment_method": "default_payment_method_id" in stored.values,
    }
