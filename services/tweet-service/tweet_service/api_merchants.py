"""Merchant accounts and API keys over HTTP. Each route says who may call it.

Admins (admin token, scope merchants:write):
    POST   /v1/merchants                               register a merchant        201 | 409
    PATCH  /v1/merchants/{merchant_id}                 change name, Stripe account, fee  200 | 409
    POST   /v1/merchants/{merchant_id}/api-keys        issue a key, shown once     201
    GET    /v1/merchants/{merchant_id}/api-keys        list keys (never secrets)
    DELETE /v1/merchants/{merchant_id}/api-keys/{key_id}   revoke                 204 | 404
Merchants (their own API key):
    GET    /v1/merchants/{merchant_id}                 own profile (fee, Stripe account)
Every admin action is logged with the admin who took it (key ids only: a key is never logged).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import BaseModel

from buybutton.inputs import CardFree
from tweet_service.callers import ActingMerchant, Admin, MerchantId
from tweet_service.inputs import MerchantChange, MerchantIn
from tweet_service.merchants import (
    Merchant,
    MerchantChangedMeanwhile,
    MerchantExists,
    UnknownMerchant,
)
from tweet_service.state import merchants_of

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])
log = structlog.get_logger(__name__)
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$"), CardFree]  # drawn card-free (api_keys)


class MerchantView(BaseModel):
    merchant_id: str
    name: str
    stripe_account_id: str
    fee_bps: int
    created_at: datetime


class IssuedKeyView(BaseModel):
    key_id: str
    api_key: str


def _view(merchant: Merchant) -> MerchantView:
    return MerchantView(**merchant.__dict__)


def _known(request: Request, merchant_id: str) -> Merchant:
    try:
        return merchants_of(request).get(merchant_id)
    except UnknownMerchant:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such merchant") from None


@router.post("", status_code=201, summary="Register a merchant; admin")
def register_merchant(merchant: MerchantIn, admin: Admin, request: Request) -> MerchantView:
    try:
        created = merchants_of(request).create(
            merchant.merchant_id,
            name=merchant.name,
            stripe_account_id=merchant.stripe_account_id,
            fee_bps=merchant.fee_bps,
        )
    except MerchantExists:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="a merchant with this id exists") from None
    log.info("merchant registered", merchant_id=created.merchant_id, fee_bps=created.fee_bps, by=admin.label)
    return _view(created)


@router.patch("/{merchant_id}", summary="Change a merchant's account; admin")
def change_merchant(
    merchant_id: MerchantId, change: MerchantChange, admin: Admin, request: Request
) -> MerchantView:
    before = _known(request, merchant_id)
    try:
        after = merchants_of(request).update(merchant_id, change.model_dump(exclude_none=True))
    except MerchantChangedMeanwhile:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="the merchant kept changing; try again"
        ) from None
    log.info(
        "merchant changed",
        merchant_id=merchant_id,
        fee_bps=[before.fee_bps, after.fee_bps],
        stripe_account_id=[before.stripe_account_id, after.stripe_account_id],
        by=admin.label,
    )
    return _view(after)


@router.get("/{merchant_id}", summary="Own profile; the merchant itself")
def own_profile(merchant_id: ActingMerchant, request: Request) -> MerchantView:
    return _view(_known(request, merchant_id))


@router.post("/{merchant_id}/api-keys", status_code=201, summary="Issue an API key (shown once); admin")
def issue_key(merchant_id: MerchantId, admin: Admin, request: Request, response: Response) -> IssuedKeyView:
    _known(request, merchant_id)
    issued = merchants_of(request).issue_key(merchant_id)
    log.info("api key issued", merchant_id=merchant_id, key_id=issued.key_id, by=admin.label)
    response.headers["Cache-Control"] = "no-store"  # the only time the key exists: keep it out of caches
    return IssuedKeyView(key_id=issued.key_id, api_key=issued.api_key)


@router.get("/{merchant_id}/api-keys", summary="A merchant's keys, without secrets; admin")
def list_keys(merchant_id: MerchantId, _: Admin, request: Request) -> list[dict[str, Any]]:
    _known(request, merchant_id)
    return merchants_of(request).keys(merchant_id)


@router.delete("/{merchant_id}/api-keys/{key_id}", status_code=204, summary="Revoke an API key; admin")
def revoke_key(merchant_id: MerchantId, key_id: KeyId, admin: Admin, request: Request) -> Response:
    if not merchants_of(request).revoke_key(merchant_id, key_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such key of this merchant")
    log.info("api key revoked", merchant_id=merchant_id, key_id=key_id, by=admin.label)
    return Response(status_code=204)
