"""``GET /v1/merchants/{merchant_id}/stats``: the merchant's delivery statistics (forwarded,
delivered, failing, dead, gone, GMV and payouts per currency; merchant_stats.py), from this
instance's replica of the statistics table (stats_stream.py), for that merchant's token only.
A merchant with no delivery yet has zeros. 503 with Retry-After while the replica is still
reading the table at start.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from buybutton.kafka.table_replica import TableReplica
from merchant_relay import merchant_stats
from merchant_relay.merchant_api import OwnMerchant

router = APIRouter(prefix="/v1/merchants/{merchant_id}", tags=["merchant statistics"])


@router.get("/stats", summary="The merchant's delivery statistics (counts, GMV, payouts)")
async def merchant_statistics(merchant_id: OwnMerchant, request: Request) -> dict[str, Any]:
    replica: TableReplica = request.app.state.stats_replica
    if not replica.caught_up.is_set():
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the statistics are still being read; try again shortly",
            headers={"Retry-After": "1"},
        )
    stored = replica.get(merchant_id)
    return merchant_stats.public(json.loads(stored) if stored else None, merchant_id)
