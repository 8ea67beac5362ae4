"""The merchant's webhook endpoint over HTTP (merchant token of that merchant, see
``merchant_api``); routes only translate HTTP into the decisions of ``endpoints.py``.

- ``PUT /v1/merchants/{merchant_id}/endpoint`` ``{"url"}``: 201 with the first signing secret
  (shown this once) when the merchant had no endpoint; 200 (``secret`` null) when it changes or
  repeats the URL. 422 for a URL the relay may not call (``endpoint_urls``), naming why.
- ``GET /v1/merchants/{merchant_id}/endpoint``: the URL and the live secrets' ids and expiry,
  never a secret; 404 before a registration.
- ``POST /v1/merchants/{merchant_id}/endpoint/secrets/rotate``: 201 a new secret, shown this
  once; the replaced ones keep signing for RELAY_SECRET_OVERLAP_S; 404 before a registration.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import Field

from buybutton.inputs import StrictInput
from merchant_relay.endpoint_urls import MAX_URL_LENGTH, UnsafeEndpoint, check_endpoint_url
from merchant_relay.endpoints import (
    EndpointRegistered,
    EndpointView,
    NoEndpoint,
    SecretRotated,
    endpoint_view,
    registered,
    rotated,
)
from merchant_relay.merchant_api import Api, OwnMerchant
from merchant_relay.signing_secrets import new_signing_secret

router = APIRouter(prefix="/v1/merchants/{merchant_id}/endpoint", tags=["webhook endpoint"])


class EndpointInput(StrictInput):
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="where signed webhooks are sent")


def _unsafe(refusal: UnsafeEndpoint) -> HTTPException:
    problem = {"loc": ["body", "url"], "msg": str(refusal), "type": "unsafe_endpoint"}
    return HTTPException(422, detail=[problem])


@router.put(
    "",
    summary="Register or change the webhook endpoint; that merchant's token",
    responses={201: {"description": "registered, with the first signing secret (shown once)"}},
)
async def register_endpoint(
    body: EndpointInput, merchant_id: OwnMerchant, api: Api, response: Response
) -> EndpointRegistered:
    try:
        url = await check_endpoint_url(
            body.url, local_allowed=api.local_endpoints_allowed, resolve=api.resolve
        )
    except UnsafeEndpoint as refusal:
        raise _unsafe(refusal) from None
    now = api.clock()
    first = new_signing_secret(now)
    outcome = await asyncio.to_thread(api.endpoints.apply, merchant_id, registered(url, first, now))
    state = outcome.aggregate.state
    assert state is not None
    made_first = any(s["secret_id"] == first.secret_id for s in state["secrets"])
    response.status_code = status.HTTP_201_CREATED if made_first else status.HTTP_200_OK
    view = endpoint_view(merchant_id, state, now)
    return EndpointRegistered(**view.model_dump(), secret=first.secret if made_first else None)


@router.get("", summary="The webhook endpoint and its secrets' ids; that merchant's token")
async def show_endpoint(merchant_id: OwnMerchant, api: Api) -> EndpointView:
    state = (await asyncio.to_thread(api.endpoints.load, merchant_id)).state
    if state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no endpoint registered")
    return endpoint_view(merchant_id, state, api.clock())


@router.post(
    "/secrets/rotate", status_code=201, summary="A new signing secret, shown once; that merchant's token"
)
async def rotate_secret(merchant_id: OwnMerchant, api: Api) -> SecretRotated:
    now = api.clock()
    new = new_signing_secret(now)
    try:
        outcome = await asyncio.to_thread(
            api.endpoints.apply, merchant_id, rotated(new, now, api.secret_overlap_s)
        )
    except NoEndpoint:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no endpoint registered") from None
    state = outcome.aggregate.state
    assert state is not None
    view = endpoint_view(merchant_id, state, now)
    return SecretRotated(**view.model_dump(), secret_id=new.secret_id, secret=new.secret)
