"""Who may call tweet-service, as FastAPI dependencies.

- buyers: a buyer token (subject = buyer id, ``country`` claim) for timelines and tweets;
- admins: an admin token with scope ``merchants:write`` to register merchants and issue keys;
- merchants: an API key in ``X-Api-Key`` (issued by an admin, stored hashed, revocable),
  and only for their own merchant id: acting for another merchant answers 403.
Missing or invalid credentials answer 401. Path ids (merchant ids, skus, key ids, tweet ids)
are refused with 422 when they hold card data; the ids tweet-service draws itself are drawn
card-free (``buybutton.sensitive.card_free``), so none of them is ever refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import APIKeyHeader

from buybutton.auth import Principal, require
from buybutton.inputs import CardFree

API_KEY_HEADER = "X-Api-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="a merchant's API key")

Buyer = Annotated[Principal, Depends(require("buyer"))]
Admin = Annotated[Principal, Depends(require("admin", scopes=["merchants:write"]))]
IDENTIFIER = r"^[A-Za-z0-9_.:-]+$"
TweetId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=IDENTIFIER, description="the tweet"), CardFree
]
MerchantId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=IDENTIFIER, description="the merchant"), CardFree
]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "ApiKey"})


def authenticated_merchant(request: Request, presented: Annotated[str | None, Depends(_api_key)]) -> str:
    """The merchant id whose API key was presented; 401 when none or not a live key."""
    if not presented:
        raise _unauthorized(f"missing API key ({API_KEY_HEADER})")
    merchant_id = request.app.state.merchants.authenticate(presented)
    if merchant_id is None:
        raise _unauthorized("invalid or revoked API key")
    return str(merchant_id)


def acting_merchant(merchant_id: MerchantId, caller: Annotated[str, Depends(authenticated_merchant)]) -> str:
    """The merchant in the path, when the API key is that merchant's own; else 403."""
    if caller != merchant_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="a merchant may only act for itself")
    return merchant_id


ActingMerchant = Annotated[str, Depends(acting_merchant)]
