"""Partner merchants and their API keys.

Owns (MongoDB): ``merchants`` {_id: merchant_id, name, stripe_account_id, fee_bps, created_at},
``api_keys`` {_id: key_id, merchant_id, secret_hash, created_at, revoked_at}. A key is stored
only as the hash of its secret (buybutton.api_keys) and shown once, when issued; a revoked key
never authenticates again. Produces no events: merchants' accounts are not published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from buybutton.api_keys import InvalidApiKey, IssuedKey, issue_api_key, parse_api_key, secret_matches


class MerchantExists(Exception):
    """A merchant with this id is already registered."""


class UnknownMerchant(LookupError):
    """No merchant with this id."""


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


class Merchants:
    def __init__(self, db: Database[dict[str, Any]], *, default_fee_bps: int) -> None:
        self.merchants: Collection[dict[str, Any]] = db["merchants"]
        self.api_keys: Collection[dict[str, Any]] = db["api_keys"]
        self.default_fee_bps = default_fee_bps

    def ensure_indexes(self) -> None:
        self.api_keys.create_index("merchant_id")

    def create(self, merchant_id: str, *, name: str, stripe_account_id: str, fee_bps: int | None) -> Merchant:
        document = {
            "_id": merchant_id,
            "name": name,
            "stripe_account_id": stripe_account_id,
            "fee_bps": self.default_fee_bps if fee_bps is None else fee_bps,
            "created_at": datetime.now(UTC),
        }
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

    def update(self, merchant_id: str, changes: dict[str, Any]) -> Merchant:
        if changes:
            self.merchants.update_one({"_id": merchant_id}, {"$set": changes})
        return self.get(merchant_id)

    def issue_key(self, merchant_id: str) -> IssuedKey:
        self.get(merchant_id)
        issued = issue_api_key()
        self.api_keys.insert_one(
            {
                "_id": issued.key_id,
                "merchant_id": merchant_id,
                "secret_hash": issued.secret_hash,
                "created_at": datetime.now(UTC),
                "revoked_at": None,
            }
        )
        return issued

    def revoke_key(self, merchant_id: str, key_id: str) -> bool:
        """True when this merchant had the key (revoking twice is not an error)."""
        result = self.api_keys.update_one(
            {"_id": key_id, "merchant_id": merchant_id, "revoked_at": None},
            {"$set": {"revoked_at": datetime.now(UTC)}},
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
