"""``GET /v1/deliveries/stats``: how the deliveries stand (counts per state, all merchants or
``?merchant_id=``) and what this instance's worker did since it started; for an admin token
with scope ``deliveries:read``. Dead letters show here (and in the log, one line each) until
``relay-admin resend`` sends them again."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from buybutton.auth import Principal, require

router = APIRouter(prefix="/v1")
Operator = Annotated[Principal, Depends(require("admin", scopes=["deliveries:read"]))]
MerchantId = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.get("/deliveries/stats", summary="Deliveries per state, and this worker's counts; admin")
async def delivery_stats(_: Operator, request: Request, merchant_id: MerchantId = None) -> dict[str, Any]:
    counts = await asyncio.to_thread(request.app.state.deliveries.counts, merchant_id)
    return {"deliveries": counts, "worker": request.app.state.delivery_worker.stats.as_dict()}
