"""The vault: buyer profiles stored as ciphertext under a per-buyer data key, which is itself
wrapped by a versioned master key and kept in its own collection.

Owns (MongoDB): ``data_keys`` {_id: buyer_id, key_id, master_version, wrapped}, kept in a
database of its own (the key store) so that it can be backed up on its own, short, schedule,
``profiles`` {_id: buyer_id, key_id, fields: {name: ciphertext}, consents, and the unit of
work's fields}, ``audit`` (one record per decrypted read), ``retired_master_keys``,
``paid_orders`` (see paid_orders.py).
Produces, through the profile's outbox (one unit of work per change, so a buyer's events keep
their order): BuyerProfileSaved, BuyerDataErased.

Erasure is crypto-shredding: the data key is deleted first, so every copy of the buyer's
ciphertext anywhere (this database, its backups) is unreadable from then on; then the profile
becomes a tombstone {erased_key_id, erased_at, requested_by} that holds no buyer data, and
carries BuyerDataErased. A save that raced the erasure with the erased key is decided again
with a new key, so no ciphertext is ever stored under a destroyed key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from bson import Binary
from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

from buybutton.auth import Principal
from buybutton.events import BuyerDataErased, BuyerProfileSaved
from buybutton.sensitive import card_free
from buybutton.unit_of_work import Aggregate, Change, MongoAggregateStore
from vault_service.fields import new_data_key, seal, unseal
from vault_service.keyring import MasterKeyRing
from vault_service.profile import ENCRYPTED_FIELDS, Consents, ProfileIn

PRODUCER = "vault-service"
log = structlog.get_logger(__name__)
Progress = Callable[[int, int], None]


class _KeyErasedMeanwhile(Exception):
    """The data key a save sealed with was erased before the save was written."""


class KeyStillInUse(Exception):
    """A master-key version cannot be retired while data keys are wrapped with it."""


@dataclass(frozen=True)
class StoredProfile:
    values: dict[str, Any]
    consents: Consents


class Vault:
    def __init__(
        self,
        db: Database[dict[str, Any]],
        keyring: MasterKeyRing,
        *,
        keystore: Database[dict[str, Any]] | None = None,
    ) -> None:
        """``keystore`` holds the data keys (default: ``db`` itself, as in unit tests)."""
        self.keyring = keyring
        self.data_keys = (keystore if keystore is not None else db)["data_keys"]
        self.profiles = db["profiles"]
        self.audit = db["audit"]
        self.store = MongoAggregateStore(self.profiles)
        self.retired = db["retired_master_keys"]
        self.paid_orders = db["paid_orders"]
        self._io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="vault-io")

    def ensure_indexes(self) -> None:
        self.data_keys.create_index([("master_version", ASCENDING)])
        self.audit.create_index([("buyer_id", ASCENDING), ("at", ASCENDING)])

    # --- data keys -------------------------------------------------------------------------
    def _unwrap(self, key_doc: dict[str, Any], buyer_id: str) -> bytes:
        return self.keyring.unwrap(
            bytes(key_doc["wrapped"]), version=key_doc["master_version"], buyer_id=buyer_id
        )

    def _data_key_for_writing(self, buyer_id: str) -> tuple[str, bytes, int]:
        """The buyer's data key, created if there is none: one round trip either way (an
        upsert that only inserts), and concurrent first writers all end up with the same key. A
        writer that lost the race to insert reads the winner's key: SecantusDB answers the
        losing upsert without a document (MongoDB retries it and returns the winner's)."""
        candidate = new_data_key()
        version, wrapped = self.keyring.wrap(candidate, buyer_id=buyer_id)
        key_doc = self.data_keys.find_one_and_update(
            {"_id": buyer_id},
            {
                "$setOnInsert": {
                    "key_id": card_free(lambda: uuid.uuid4().hex),
                    "master_version": version,
                    "wrapped": Binary(wrapped),
                    "created_at": datetime.now(UTC),
                }
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if key_doc is None:  # lost the race to insert
            key_doc = self.data_keys.find_one({"_id": buyer_id})
        if key_doc is None:  # and the winner's key was erased since: the save starts again
            raise _KeyErasedMeanwhile(buyer_id)
        if bytes(key_doc["wrapped"]) == wrapped:
            return str(key_doc["key_id"]), candidate, version
        return str(key_doc["key_id"]), self._unwrap(key_doc, buyer_id), int(key_doc["master_version"])

    # --- profiles --------------------------------------------------------------------------
    def save(self, buyer_id: str, profile: ProfileIn, *, actor: Principal, attempts: int = 5) -> None:
        for _ in range(attempts):
            try:
                self._save_once(buyer_id, profile)
            except _KeyErasedMeanwhile:
                continue  # the next attempt creates a new data key
            log.info(
                "profile saved",
                buyer_id=buyer_id,
                actor=actor.label,
                fields_saved=sorted(profile.encrypted_values()),
            )
            return
        raise _KeyErasedMeanwhile(buyer_id)

    def _save_once(self, buyer_id: str, profile: ProfileIn) -> None:
        key_id, key, version = self._data_key_for_writing(buyer_id)
        sealed = {
            name: Binary(seal(key, json.dumps(value).encode(), buyer_id=buyer_id, field=name, key_id=key_id))
            for name, value in profile.encrypted_values().items()
        }
        state = {
            "key_id": key_id,
            "fields": sealed,
            "consents": profile.consents.model_dump(),
            "updated_at": datetime.now(UTC),
        }
        saved = BuyerProfileSaved(
            buyer_id=buyer_id,
            correlation_id=buyer_id,
            producer=PRODUCER,
            fields_saved=sorted(sealed),
            key_version=version,
        )

        def decide(current: Aggregate) -> Change:
            if current.state is not None and current.state.get("erased_key_id") == key_id:
                raise _KeyErasedMeanwhile(buyer_id)
            return Change(state, [saved])

        self.store.apply(buyer_id, decide)

    def consents(self, buyer_id: str) -> Consents | None:
        """The buyer's consent flags (kept in the clear), or None without a profile."""
        document = self.profiles.find_one({"_id": buyer_id}, {"consents": 1})
        if document is None or "consents" not in document:
            return None
        return Consents.model_validate(document["consents"])

    def read(
        self,
        buyer_id: str,
        fields: Iterable[str],
        *,
        actor: Principal,
        purpose: str,
        order_id: str | None = None,
    ) -> StoredProfile | None:
        """Decrypt the named fields (those present). The audit record of the request is written
        alongside the two lookups (three round trips at once), and nothing is returned unless
        it was written."""
        wanted = [f for f in fields if f in ENCRYPTED_FIELDS]
        audit_record = {
            "_id": card_free(lambda: uuid.uuid4().hex),
            "at": datetime.now(UTC),
            "actor": actor.label,
            "buyer_id": buyer_id,
            "fields": wanted,
            "purpose": purpose,
            "order_id": order_id,
        }
        audited = self._io.submit(self.audit.insert_one, audit_record)
        key_lookup = self._io.submit(self.data_keys.find_one, {"_id": buyer_id})
        document = self.profiles.find_one({"_id": buyer_id}, {"key_id": 1, "fields": 1, "consents": 1})
        audited.result()
        key_doc = key_lookup.result()
        log.info(
            "decrypted read",
            buyer_id=buyer_id,
            actor=actor.label,
            fields_read=wanted,
            purpose=purpose,
            order_id=order_id,
        )
        if document is None or key_doc is None:
            return None
        key = self._unwrap(key_doc, buyer_id)  # a profile sealed under another key fails to unseal
        sealed = document.get("fields", {})
        values = {
            name: json.loads(
                unseal(key, bytes(sealed[name]), buyer_id=buyer_id, field=name, key_id=document["key_id"])
            )
            for name in wanted
            if name in sealed
        }
        return StoredProfile(values, Consents.model_validate(document.get("consents", {})))

    def erase(self, buyer_id: str, *, actor: Principal) -> bool:
        """Crypto-shred the buyer's data. False when there was nothing left to erase."""
        key_doc = self.data_keys.find_one({"_id": buyer_id}, {"key_id": 1})
        current = self.store.load(buyer_id)
        if key_doc is None and (current.state is None or "key_id" not in current.state):
            return False
        key_id = (key_doc or current.state or {})["key_id"]
        self.data_keys.delete_one({"_id": buyer_id, "key_id": key_id})  # every copy unreadable now
        tombstone = {"erased_key_id": key_id, "erased_at": datetime.now(UTC), "requested_by": actor.label}
        erased = BuyerDataErased(buyer_id=buyer_id, correlation_id=buyer_id, producer=PRODUCER)
        self.store.apply(buyer_id, lambda _: Change(tombstone, [erased]))
        log.info("buyer data erased", buyer_id=buyer_id, actor=actor.label)
        return True

    # --- master-key rotation -----------------------------------------------------------------
    def key_usage(self) -> dict[int, int]:
        """How many data keys each master-key version wraps."""
        usage: dict[int, int] = {}
        for key_doc in self.data_keys.find({}, {"master_version": 1}):
            version = int(key_doc["master_version"])
            usage[version] = usage.get(version, 0) + 1
        return usage

    def rewrap(self, *, batch_size: int = 200, progress: Progress | None = None) -> int:
        """Move every data key to the active master key. Safe to interrupt and run again: each
        data key moves in one conditional update, and finished ones no longer match."""
        active = self.keyring.active_version
        stale = {"master_version": {"$ne": active}}
        total = self.data_keys.count_documents(stale)
        moved = 0
        while batch := list(self.data_keys.find(stale).sort("_id", ASCENDING).limit(batch_size)):
            for key_doc in batch:
                buyer_id = key_doc["_id"]
                version, wrapped = self.keyring.wrap(self._unwrap(key_doc, buyer_id), buyer_id=buyer_id)
                result = self.data_keys.update_one(
                    {
                        "_id": buyer_id,
                        "key_id": key_doc["key_id"],
                        "master_version": key_doc["master_version"],
                    },
                    {"$set": {"master_version": version, "wrapped": Binary(wrapped)}},
                )
                moved += result.modified_count
                if progress:
                    progress(moved, total)
        return moved

    def retire(self, version: int) -> None:
        if version == self.keyring.active_version:
            raise KeyStillInUse(f"v{version} is the active master key")
        in_use = self.data_keys.count_documents({"master_version": version})
        if in_use:
            raise KeyStillInUse(f"v{version} still wraps {in_use} data key(s): run rewrap first")
        self.retired.update_one(
            {"_id": version}, {"$setOnInsert": {"retired_at": datetime.now(UTC)}}, upsert=True
        )


def retired_versions(db: Database[dict[str, Any]]) -> frozenset[int]:
    """Master-key versions retired in this vault's database (the key ring must refuse them)."""
    return frozenset(int(d["_id"]) for d in db["retired_master_keys"].find({}))
