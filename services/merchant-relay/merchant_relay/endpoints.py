"""A merchant's webhook endpoint as an aggregate (collection ``endpoints``, one document per
merchant id): ``{url, secrets: [{secret_id, secret, created_at, expires_at}], updated_at}``.
Written by the merchant API through these decisions; read by the delivery pipeline
(``endpoint_of``), which signs each delivery with every secret ``live_secrets`` answers.

The rules it keeps: the first registration makes the first secret; changing the URL keeps the
secrets; a rotation adds a new current secret (``expires_at`` null) and gives each current one
``expires_at`` = now + the overlap, so both sign until then; an expired secret is dropped at
the next write, and never signs meanwhile; at most ``MAX_LIVE_SECRETS`` live at once (a rotation
beyond that drops the oldest replaced ones first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pymongo.collection import Collection

from buybutton.unit_of_work import Aggregate, Change, Decide
from merchant_relay.signing_secrets import SigningSecret

COLLECTION = "endpoints"
MAX_LIVE_SECRETS = 4


class NoEndpoint(LookupError):
    """The merchant has registered no endpoint yet."""


def live_secrets(secrets: Sequence[Mapping[str, Any]], now: datetime) -> list[Mapping[str, Any]]:
    """The secrets that sign deliveries at ``now``: current ones and those still overlapping."""
    return [s for s in secrets if s.get("expires_at") is None or s["expires_at"] > now]


def registered(url: str, first_secret: SigningSecret, now: datetime) -> Decide:
    def decide(endpoint: Aggregate) -> Change | None:
        state = endpoint.state
        if state is None:
            return Change({"url": url, "secrets": [first_secret.stored()], "updated_at": now})
        if state["url"] == url:
            return None
        return Change(
            {**state, "url": url, "secrets": live_secrets(state["secrets"], now), "updated_at": now}
        )

    return decide


def rotated(new_secret: SigningSecret, now: datetime, overlap_s: float) -> Decide:
    def decide(endpoint: Aggregate) -> Change | None:
        state = endpoint.state
        if state is None:
            raise NoEndpoint
        until = now + timedelta(seconds=overlap_s)
        replaced = [
            {**s, "expires_at": s["expires_at"] or until} for s in live_secrets(state["secrets"], now)
        ]
        replaced.sort(key=lambda s: s["created_at"])
        kept = replaced[-(MAX_LIVE_SECRETS - 1) :] if overlap_s > 0 else []
        return Change({**state, "secrets": [*kept, new_secret.stored()], "updated_at": now})

    return decide


class SecretShown(BaseModel):
    """A secret as the API lists it: never the secret itself."""

    secret_id: str
    created_at: datetime
    expires_at: datetime | None


class EndpointView(BaseModel):
    merchant_id: str
    url: str
    secrets: list[SecretShown]
    updated_at: datetime


class EndpointRegistered(EndpointView):
    """The answer to a registration: ``secret`` is the new signing secret, shown only when this
    registration made it (the first one); null after that."""

    secret: str | None = None


class SecretRotated(EndpointView):
    """The answer to a rotation: the new secret, shown this once."""

    secret_id: str
    secret: str


def endpoint_view(merchant_id: str, state: Mapping[str, Any], now: datetime) -> EndpointView:
    shown = [
        SecretShown(**{k: s[k] for k in SecretShown.model_fields})
        for s in live_secrets(state["secrets"], now)
    ]
    return EndpointView(
        merchant_id=merchant_id, url=state["url"], secrets=shown, updated_at=state["updated_at"]
    )


@dataclass(frozen=True)
class Endpoint:
    merchant_id: str
    url: str
    secrets: tuple[str, ...]


def endpoint_of(
    collection: Collection[dict[str, Any]], merchant_id: str, *, now: datetime
) -> Endpoint | None:
    """The merchant's endpoint with the secrets that sign now; None when it has none (or none live)."""
    document = collection.find_one({"_id": merchant_id})
    if not document or not document.get("url"):
        return None
    secrets = tuple(str(s["secret"]) for s in live_secrets(document.get("secrets", []), now))
    return Endpoint(merchant_id, str(document["url"]), secrets) if secrets else None
