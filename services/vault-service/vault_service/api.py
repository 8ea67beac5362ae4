"""vault-service's HTTP API. Each route says who may call it.

Buyers (buyer token, subject = buyer id), never payment references (buyer_profile.py):
    GET    /v1/me/profile    own profile, masked                          200 | 404
    PUT    /v1/me/profile    own addresses, email and consents, as sent   200 (masked)
    PATCH  /v1/me/profile    only the fields sent                         200 (masked)
    DELETE /v1/me/profile    erase everything (crypto-shredding)          204, also when nothing is left
Services (service token with scopes):
    PUT /v1/buyers/{buyer_id}/profile             profiles:write   checkout-service (whole profile)
    GET /v1/buyers/{buyer_id}/payment?order_id=   payment:read     checkout-service, and only for an
                                                                   open order of this buyer (409
                                                                   while the order is not seen yet)
    GET /v1/buyers/{buyer_id}/shipping?order_id=  shipping:read    merchant-relay, and only for an
                                                                   order this buyer paid: the
                                                                   order's own address, else the
                                                                   profile's default
    checkout's purchase endpoints (PATCH profile, one order's address, the saved-profile hint)
    are in checkout_api.py.
Orders are the vault's own view of checkout's events (orders.py); any other order answers 403.
Every decrypted read is audited (who, which buyer, which fields, why); values are never logged.
A buyer id or order id holding card data answers 422 (never repeated), before anything is read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from buybutton.auth import Principal, require
from buybutton.inputs import CardFree
from vault_service.buyer_profile import BuyerProfileIn, BuyerProfilePatch
from vault_service.order_addresses import read_order_address
from vault_service.orders import Standing, is_paid_by, standing_of
from vault_service.profile import ENCRYPTED_FIELDS, PAYMENT_FIELDS, EditsProfile, MaskedProfile, ProfileIn
from vault_service.vault import Vault

router = APIRouter(prefix="/v1")
Buyer = Annotated[Principal, Depends(require("buyer"))]
ProfileWriter = Annotated[Principal, Depends(require("service", scopes=["profiles:write"]))]
PaymentReader = Annotated[Principal, Depends(require("service", scopes=["payment:read"]))]
ShippingReader = Annotated[Principal, Depends(require("service", scopes=["shipping:read"]))]
BuyerId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$"), CardFree]
OrderId = Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


def vault(request: Request) -> Vault:
    return request.app.state.vault  # type: ignore[no-any-return]


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="no profile for this buyer")


@router.get("/me/profile", summary="Own profile, masked; buyer")
def get_own_profile(buyer: Buyer, request: Request) -> MaskedProfile:
    stored = vault(request).read(
        buyer.subject, ENCRYPTED_FIELDS, actor=buyer, purpose="buyer views own profile"
    )
    if stored is None:
        raise _not_found()
    return MaskedProfile.of(stored.values, stored.consents)


def _save_own(edit: EditsProfile, buyer: Principal, request: Request) -> MaskedProfile:
    vault(request).save(buyer.subject, edit, actor=buyer)
    return get_own_profile(buyer, request)


@router.put("/me/profile", summary="Save own addresses, email and consents; buyer")
def put_own_profile(profile: BuyerProfileIn, buyer: Buyer, request: Request) -> MaskedProfile:
    return _save_own(profile, buyer, request)


@router.patch("/me/profile", summary="Change some of own addresses, email and consents; buyer")
def patch_own_profile(changes: BuyerProfilePatch, buyer: Buyer, request: Request) -> MaskedProfile:
    return _save_own(changes, buyer, request)


@router.delete("/me/profile", status_code=204, summary="Erase all own data; buyer")
def erase_own_profile(buyer: Buyer, request: Request) -> Response:
    vault(request).erase(buyer.subject, actor=buyer)
    return Response(status_code=204)


@router.put(
    "/buyers/{buyer_id}/profile",
    status_code=204,
    summary="Save a buyer's profile at checkout; service with profiles:write",
)
def put_profile(buyer_id: BuyerId, profile: ProfileIn, caller: ProfileWriter, request: Request) -> Response:
    vault(request).save(buyer_id, profile, actor=caller)
    return Response(status_code=204)


@router.get(
    "/buyers/{buyer_id}/payment", summary="Payment references for one order; service with payment:read"
)
def get_payment_references(
    buyer_id: BuyerId, order_id: OrderId, caller: PaymentReader, request: Request
) -> dict[str, Any]:
    standing = standing_of(vault(request).orders, order_id, buyer_id)
    if standing is Standing.NOT_SEEN:  # checkout may ask before the vault consumed BuyClicked
        raise HTTPException(status.HTTP_409_CONFLICT, detail="order not known yet")
    if standing is not Standing.OPEN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="not an open order of this buyer")
    stored = vault(request).read(
        buyer_id, PAYMENT_FIELDS, actor=caller, purpose="charge an order", order_id=order_id
    )
    if stored is None:
        raise _not_found()
    return {name: stored.values.get(name) for name in PAYMENT_FIELDS}


@router.get(
    "/buyers/{buyer_id}/shipping",
    summary="Shipping address and consented contact for one order; service with shipping:read",
)
def get_shipping(
    buyer_id: BuyerId, order_id: OrderId, caller: ShippingReader, request: Request
) -> dict[str, Any]:
    if not is_paid_by(vault(request).orders, order_id, buyer_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="not a paid order of this buyer")
    purpose = "ship an order"
    address = read_order_address(vault(request), buyer_id, order_id, actor=caller, purpose=purpose)
    consents = vault(request).consents(buyer_id)
    if consents is None:  # no profile: the order's own address, and no contact
        if address is None:
            raise _not_found()
        return {"shipping_address": address, "contact_email": None}
    fields = ([] if address else ["shipping_addresses"]) + (
        ["contact_email"] if consents.share_email_with_merchant else []
    )
    values: dict[str, Any] = {}
    if fields:
        stored = vault(request).read(buyer_id, fields, actor=caller, purpose=purpose, order_id=order_id)
        if stored is None:
            raise _not_found()
        values = stored.values
    return {
        "shipping_address": address or _default_address(values.get("shipping_addresses", [])),
        "contact_email": values.get("contact_email"),
    }


def _default_address(addresses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The profile's default address, as an address to ship to (without its ``is_default``)."""
    default = next((a for a in addresses if a["is_default"]), None)
    return None if default is None else {k: v for k, v in default.items() if k != "is_default"}
