"""Merchants' webhook endpoints (collection ``endpoints``, one document per merchant_id, written
by the merchant API): {url, secrets: [{secret_id, secret, created_at, expires_at}], updated_at}.

The pipeline only reads them. The rule it keeps: a delivery is signed with every secret that has
not expired (``expires_at`` None is the current one; an older one stays valid until its
``expires_at``, the rotation's overlap), so a receiver holding either verifies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.collection import Collection

COLLECTION = "endpoints"


@dataclass(frozen=True)
class Endpoint:
    merchant_id: str
    url: str
    secrets: tuple[str, ...]


def current_secrets(document: dict[str, Any], now: datetime) -> tuple[str, ...]:
    return tuple(
        str(s["secret"])
        for s in document.get("secrets", [])
        if s.get("expires_at") is None or s["expires_at"] > now
    )


def endpoint_of(
    collection: Collection[dict[str, Any]], merchant_id: str, *, now: datetime
) -> Endpoint | None:
    """The merchant's endpoint with its valid secrets; None when it has none (or none valid)."""
    document = collection.find_one({"_id": merchant_id})
    if not document or not document.get("url"):
        return None
    secrets = current_secrets(document, now)
    return Endpoint(merchant_id, str(document["url"]), secrets) if secrets else None
