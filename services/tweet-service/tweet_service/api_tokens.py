"""Merchant tokens over HTTP: a merchant exchanges its own API key for a short-lived token
that another service verifies without asking tweet-service (see ``merchant_tokens``).

    POST /v1/merchants/{merchant_id}/tokens   {"audience": "checkout-service"}   201
        {"token", "token_type": "Bearer", "expires_at", "audience"}

Anything but a live API key answers 401, another merchant's key 403, an audience tokens are
not issued for 422 (as any invalid body, naming the field, never the value). Without
TWEET_MERCHANT_TOKEN_SIGNING_KEY (allowed in development and test only) the endpoint answers
503 naming that setting. The answer is not cached (Cache-Control: no-store); the issue is
logged with the merchant and the audience, never the token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import structlog
from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel

from tweet_service.callers import ActingMerchant
from tweet_service.inputs import MerchantTokenIn
from tweet_service.merchant_tokens import MerchantTokens

router = APIRouter(prefix="/v1/merchants/{merchant_id}/tokens", tags=["merchant tokens"])
log = structlog.get_logger(__name__)
UNCONFIGURED = "merchant tokens are not configured here: set TWEET_MERCHANT_TOKEN_SIGNING_KEY"


class MerchantTokenView(BaseModel):
    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (the scheme's name, no secret)
    expires_at: datetime
    audience: str


@router.post("", status_code=201, summary="Exchange the merchant's API key for a merchant token")
def issue_merchant_token(
    merchant_id: ActingMerchant, wanted: MerchantTokenIn, request: Request, response: Response
) -> MerchantTokenView:
    tokens: MerchantTokens | None = request.app.state.merchant_tokens
    if tokens is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=UNCONFIGURED)
    if wanted.audience not in tokens.audiences:
        problem = {
            "loc": ["body", "audience"],
            "msg": f"merchant tokens are issued for {', '.join(sorted(tokens.audiences))} only",
            "type": "value_error",
        }
        raise HTTPException(422, detail=[problem])
    issued = tokens.issue(merchant_id, audience=wanted.audience)
    log.info("merchant token issued", merchant_id=merchant_id, audience=issued.audience)
    response.headers["Cache-Control"] = "no-store"
    return MerchantTokenView(token=issued.token, expires_at=issued.expires_at, audience=issued.audience)
