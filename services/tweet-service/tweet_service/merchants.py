"""Partner merchants and their API keys.

Owns (MongoDB): ``merchants`` {_id: merchant_id, name, stripe_account_id, fee_bps, created_at,
version, outbox}, ``api_keys`` {_id: key_id, merchant_id, secret_hash, created_at, revoked_at}. A key is
stored only as the hash of its secret (buybutton.api_keys) and shown once, when issued; a
revoked key never authenticates again. Produces, through the outbox in the merchant's document:
MerchantProfileChanged (the selling terms checkout charges by; never a key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from buybutton.api_keys import InvalidApiKey, IssuedKey, issue_api_key, parse_api_key, secret_matches
from buybutton.events import MerchantProfileChanged
from buybutton.locks import KeyedLocks
from buybutton.outbox import new_outbox, outbox_entry, with_outbox
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
    def of(cls, document: dict[str, Any]) -> Merchant:
        return cls(
            merchant_id=document["_id"],
            name=document["name"],
            stripe_account_id=document["stripe_account_id"],
            fee_bps=document["fee_bps"],
            created_at=document["created_at"],
        )


def _terms_of(document: dict[str, Any]) -> MerchantProfileChanged:
    return MerchantProfileChanged(
        merchant_id=document["_id"],
        correlation_id=document["_id"],
        producer=PRODUCER,
        name=document["name"],
        stripe_account_id=document["stripe_account_id"],
        fee_bps=document["fee_bps"],
    )


class Merchants:
    def __init__(
        self, db: Database[dict[str, Any]], *, default_fee_bps: int, document_locks: KeyedLocks | None = None
    ) -> None:
        """``document_locks``: the ones the outbox relay holds too (see buybutton.locks)."""
        self.merchants: Collection[dict[str, Any]] = db["merchants"]
        self.api_keys: Collection[dict[str, Any]] = db["api_keys"]
        self.default_fee_bps = default_fee_bps
        self.document_locks = document_locks or KeyedLocks()

    def ensure_indexes(self) -> None:
        self.api_keys.create_index("merchant_id")

    def create(self, merchant_id: str, *, name: str, stripe_account_id: str, fee_bps: int | None) -> Merchant:
        document = {
            "_id": merchant_id,
            "name": name,
            "stripe_account_id": stripe_account_id,
            "fee_bps": self.default_fee_bps if fee_bps is None else fee_bps,
            "created_at": stored_now(),
            "version": 1,
        }
        document.update(new_outbox([outbox_entry(_terms_of(document))]))
        try:
            self.merchants.insert_one(document)
        except DuplicateKeyError:
            raise MerchantExists(merchant_id) from None
        return Merchant.of(document)

    def get(self, merchant_id: str) -> Merchant:
        document = self.merchants.find_one({"_id": merchant_id})
        if document is None:
            raise UnknownMerchant(merchant_id)
        return Merchant.of(document)

    def update(self, merchant_id: str, changes: dict[str, Any], attempts: int = 5) -> Merchant:
        """Apply ``changes``, published as the merchant's new terms. Written only if nobody
        changed the merchant since it was read (else read again), so that the last terms on the
        topic are always the terms stored, whichever instance wrote them."""
        with self.document_locks.hold((self.merchants.name, merchant_id)):
            for _ in range(attempts):
                current = self.merchants.find_one({"_id": merchant_id}, {"outbox": 0})
                if current is None:
                    raise UnknownMerchant(merchant_id)
                changed = {k: v for k, v in changes.items() if current.get(k) != v}
                if not changed:
                    return Merchant.of(current)
                version = current["version"]
                update = with_outbox(
                    {"$set": {**changed, "version": version + 1}}, _terms_of({**current, **changed})
                )
                if self.merchants.update_one({"_id": merchant_id, "version": version}, update).matched_count:
                    return self.get(merchant_id)
        raise MerchantChangedMeanwhile(merchant_id)

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
