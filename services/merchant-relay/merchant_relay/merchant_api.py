"""What the merchant API's routes share: the stores they write (``MerchantApi``, which the
app's lifespan builds from the relay's database and puts at ``app.state.merchant_api``), and
who may call them.

Who: a merchant token (kind ``merchant``, signed by tweet-service for audience
``merchant-relay``, trusted through AUTH_TRUSTED_ISSUERS) whose subject is the merchant id in
the path. Missing or invalid credentials answer 401; buyer, service and admin tokens 403; a
merchant token for another merchant 403 (merchant ids are public: they stand on every product
tweet, so refusing reveals nothing). Under its own path a merchant reaches only its own orders:
another merchant's order answers 404, as a missing one does, so order ids do not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from pymongo.collection import Collection
from pymongo.database import Database

from buybutton.auth import Principal, require
from buybutton.events.envelope import Identifier
from buybutton.inputs import CardFree
from buybutton.unit_of_work import MongoAggregateStore
from merchant_relay import endpoints, merchant_orders, merchant_reports
from merchant_relay.endpoint_urls import Resolver, system_resolver


def utc_now() -> datetime:
    """Now, to the millisecond as MongoDB keeps it, so an answer shows what a later read shows."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class MerchantApi:
    endpoints: MongoAggregateStore
    orders: MongoAggregateStore
    orders_collection: Collection[dict[str, Any]]
    deliveries_collection: Collection[dict[str, Any]]
    secret_overlap_s: float
    local_endpoints_allowed: bool
    resolve: Resolver = system_resolver
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def build(cls, db: Database[dict[str, Any]], settings: Any, **options: Any) -> MerchantApi:
        """From the relay's database and its Settings (with ``api_settings.MerchantApiSettings``)."""
        return cls(
            endpoints=MongoAggregateStore(db[endpoints.COLLECTION]),
            orders=MongoAggregateStore(db[merchant_reports.COLLECTION]),
            orders_collection=db[merchant_reports.COLLECTION],
            deliveries_collection=db[merchant_orders.DELIVERIES],
            secret_overlap_s=settings.secret_overlap_s,
            local_endpoints_allowed=settings.local_endpoints_allowed,
            **options,
        )


def merchant_api(request: Request) -> MerchantApi:
    api: MerchantApi = request.app.state.merchant_api
    return api


async def own_merchant(
    merchant_id: Annotated[Identifier, Path(description="the merchant"), CardFree],
    caller: Annotated[Principal, Depends(require("merchant"))],
) -> str:
    """The path's merchant id, when the caller's merchant token is for that merchant."""
    if caller.subject != merchant_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="a merchant token reaches only its own merchant"
        )
    return merchant_id


OwnMerchant = Annotated[str, Depends(own_merchant)]
Api = Annotated[MerchantApi, Depends(merchant_api)]
