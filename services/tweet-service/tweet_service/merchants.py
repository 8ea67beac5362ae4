"""Partner merchants and their API keys.

Owns (MongoDB): ``merchants`` {_id: merchant_id, name, stripe_account_id, fee_bps, created_at,
and the unit of work's fields}, ``api_keys`` {_id: key_id, merchant_id, secret_hash, created_at,
revoked_at}. A key is stored only as the hash of its secret (buybutton.api_keys) and shown
once, when issued; a revoked key never authenticates again. Produces, through the outbox in the
merchant's document: MerchantProfileChanged (the selling terms checkout charges by; never a
key), numbered in the merchant's sequence, so that on the compacted topic the newest terms are
the terms stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from buybutton.api_keys import InvalidApiKey, IssuedKey, issue_api_key, parse_api_key, secret_matches
from buybutton.events import MerchantProfileChanged
from buybutton.unit_of_work import Aggregate, Change, ConcurrentChange, MongoAggregateStore
from tweet_service.clock import stored_now

PRODUCER = "tweet-service"


class MerchantExists(Exception):
    """A merchant with this id is already registered."""


class UnknownMerchant(LookupError):
    """No merchant with this id."""


class MerchantChangedMeanwhile(Exception):
    """The merchant kept changing under this update; nothing was written."""


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    name: str
    stripe_account_id: str
    fee_bps: int
    created_at: datetime

    @classmethod
    def of(cls, merchant: Aggregate) -> Merchant:
        document = merchant.state
        assert document is not None
        return cls(
            merchant_id=merchant.id,
            name=document["name"],
            stripe_account_id=document["stripe_account_id"],
            fee_bps=document["fee_bps"],
            created_at=document["created_at"],
        )


def _terms_of(merchant_id: str, document: dict[str, Any]) -> MerchantProfileChanged:
    return MerchantProfileChanged(
        merchant_id=merchant_id,
        correlation_id=merchant_id,
        producer=PRODUCER,
        name=document["name"],
        stripe_account_id=document["stripe_account_id"],
        fee_bps=document["fee_bps"],
    )


class Merchants:
    def __init__(self, db: Database[dict[str, Any]], *, default_fee_bps: int) -> None:
        self.merchants: Collection[dict[str, Any]] = db["merchants"]
        self.api_keys: Collection[dict[str, Any]] = db["api_keys"]
        self.store = MongoAggregateStore(self.merchants)
        self.default_fee_bps = default_fee_bps

    def ensure_indexes(self) -> None:
        self.api_keys.create_index("merchant_id")

    def create(self, merchant_id: str, *, name: str, stripe_account_id: str, fee_bps: int | None) -> Merchant:
        state = {
            "name": name,
            "stripe_account_id": stripe_account_id,
            "fee_bps": self.default_fee_bps if fee_bps is None else fee_bps,
            "created_at": stored_now(),
        }

        def decide(merchant: Aggregate) -> Change:
            if merchant.exists:
                raise MerchantExists(merchant_id)
            return Change(state, [_terms_of(merchant_id, state)])

        return Merchant.of(self.store.apply(merchant_id, decide).aggregate)

    def get(self, merchant_id: str) -> Merchant:
        merchant = self.store.load(merchant_id)
        if not merchant.exists:
            raise UnknownMerchant(merchant_id)
        return Merchant.of(merchant)

    def update(self, merchant_id: str, changes: dict[str, Any]) -> Merchant:
        """Apply ``changes``, published as the merchant's new terms. Each change is written
        only if nobody changed the merchant since it was read (else decided again), and its
        event carries the merchant's next sequence number, so that the newest terms on the topic
        are always the terms stored, whichever instance wrote them."""

        def decide(merchant: Aggregate) -> Change | None:
            if merchant.state is None:
                raise UnknownMerchant(merchant_id)
            changed = {k: v for k, v in changes.items() if merchant.state.get(k) != v}
            if not changed:
                return None
            state = {**merchant.state, **changed}
            return Change(state, [_terms_of(merchant_id, state)])

        try:
            return Merchant.of(self.store.apply(merchant_id, decide).aggregate)
        except ConcurrentChange:
            raise MerchantChangedMeanwhile(merchant_id) from None

    def issue_key(self, merchant_id: str) -> IssuedKey:
        self.get(merchant_id)
        issued = issue_api_key()
        self.api_keys.insert_one(
            {
                "_id": issued.key_id,
                "merchant_id": merchant_id,
                "secret_hash": issued.secret_hash,
                "created_at": stored_now(),
                "revoked_at": None,
            }
        )
        return issued

    def revoke_key(self, merchant_id: str, key_id: str) -> bool:
        """True when this merchant had the key (revoking twice is not an error)."""
        result = self.api_keys.update_one(
            {"_id": key_id, "merchant_id": merchant_id, "revoked_at": None},
            {"$set": {"revoked_at": stored_now()}},
        )
        return (
            result.matched_count == 1
            or self.api_keys.count_documents({"_id": key_id, "merchant_id": merchant_id}, limit=1) == 1
        )

    def keys(self, merchant_id: str) -> list[dict[str, Any]]:
        """The merchant's keys without their hashes: id, created, revoked."""
        found = self.api_keys.find({"merchant_id": merchant_id}, {"secret_hash": 0}).sort("created_at", 1)
        return [
            {"key_id": k["_id"], "created_at": k["created_at"], "revoked_at": k["revoked_at"]} for k in found
        ]

    def authenticate(self, presented: str) -> str | None:
        """The merchant id a presented API key belongs to, or None (unknown, wrong, revoked)."""
        try:
            key_id, secret = parse_api_key(presented)
        except InvalidApiKey:
            return None
        stored = self.api_keys.find_one({"_id": key_id})
        if stored is None or stored["revoked_at"] is not None:
            return None
        if not secret_matches(secret, stored["secret_hash"]):
            return None
        return str(stored["merchant_id"])
