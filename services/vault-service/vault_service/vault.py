"""The vault: buyer profiles stored as ciphertext under a per-buyer data key, which is itself
wrapped by a versioned master key and kept in the key store (keystore.py), apart from the data.

Owns (MongoDB): ``profiles`` {_id: buyer_id, key_id, fields: {name: ciphertext}, consents, and
the unit of work's fields}, ``audit`` (one record per decrypted read), ``retired_master_keys``
(rotation.py), ``orders`` (orders.py), ``order_addresses`` (order_addresses.py: one order's
address, sealed under the same data key). The key store holds {buyer_id, key_id, master_version,
wrapped}, one key per buyer at a time.
Produces, through the profile's outbox (one unit of work per change, so a buyer's events keep
their order): BuyerProfileSaved, BuyerDataErased.

A write (``save``) is decided on the profile as stored: it seals only the fields it sets, with
the buyer's data key, and keeps every other field's ciphertext as it is (a ciphertext is bound
to buyer, field and key id, none of which changes), so nothing is decrypted to write and an
address edit leaves the payment references untouched. Fields sealed under a key that is no
longer the buyer's were erased (unreadable) and are dropped.

Erasure is crypto-shredding: the data key is destroyed first, so every copy of the buyer's
ciphertext anywhere (the database's files and backups) is unreadable from then on; then the
profile becomes a tombstone {erased_key_ids, erased_at, requested_by} without buyer data,
carrying BuyerDataErased; then every key the tombstone names is destroyed (a save racing the
erasure may have stored one before the tombstone); then the buyer's order addresses are deleted.

What holds against races, with no transaction across the two stores: a save chooses its key
after loading the profile and writes only if the profile is still at the version it loaded; an
erasure destroys keys before it writes the tombstone. So a save written before the tombstone is
wiped by it (and its key destroyed with the tombstone's list), and a save written after loaded
the tombstone, and so chose a key that no erasure has destroyed: one it created, or one the
store holds that the tombstone does not name (a key it names is destroyed then and there).
No profile is left sealed under a destroyed key once the writes settle (meanwhile a read finds
no key and answers nothing). A key can outlive an erasure only if a save stored it and then
never wrote its profile (it died, or gave up after lost races); it protects nothing, the
buyer's next save uses it, the next erasure destroys it.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from bson import Binary
from pymongo import ASCENDING
from pymongo.database import Database

from buybutton.auth import Principal
from buybutton.events import BuyerDataErased, BuyerProfileSaved
from buybutton.sensitive import card_free
from buybutton.unit_of_work import Aggregate, Change, ConcurrentChange, MongoAggregateStore
from vault_service.fields import new_data_key, seal, unseal
from vault_service.keyring import MasterKeyRing
from vault_service.keystore import KeyStore, WrappedKey
from vault_service.profile import ENCRYPTED_FIELDS, Consents, EditsProfile, EditsStoredProfile, ProfileEdit
from vault_service.rotation import KeyRotation

PRODUCER = "vault-service"
log = structlog.get_logger(__name__)


class _ChangedMeanwhile(Exception):
    """The profile changed after the save chose its key: choose again."""


@dataclass(frozen=True)
class _AsSent:
    """An edit that does not depend on what is stored."""

    edit: ProfileEdit
    reads: tuple[str, ...] = ()

    def edit_of(self, stored: Mapping[str, Any]) -> ProfileEdit:
        return self.edit


def _decrypted(
    profile: Aggregate, fields: Iterable[str], *, key: WrappedKey, data_key: bytes
) -> dict[str, Any]:
    """The named fields of ``profile`` that are sealed under ``key``, decrypted for deciding a
    write (never returned to a caller); fields under another key were erased."""
    state = profile.state or {}
    if state.get("key_id") != key.key_id:
        return {}
    sealed = state.get("fields", {})
    return {
        name: json.loads(
            unseal(data_key, bytes(sealed[name]), buyer_id=profile.id, field=name, key_id=key.key_id)
        )
        for name in fields
        if name in sealed
    }


@dataclass(frozen=True)
class StoredProfile:
    values: dict[str, Any]
    consents: Consents


def erased_key_ids(state: Mapping[str, Any] | None) -> frozenset[str]:
    return frozenset((state or {}).get("erased_key_ids", ()))


class Vault:
    def __init__(self, db: Database[dict[str, Any]], keyring: MasterKeyRing, keys: KeyStore) -> None:
        self.keyring = keyring
        self.keys = keys
        self.profiles = db["profiles"]
        self.audit = db["audit"]
        self.store = MongoAggregateStore(self.profiles)
        self.orders = db["orders"]
        self.order_addresses = db["order_addresses"]
        self.rotation = KeyRotation(keys, keyring, db["retired_master_keys"])
        self._io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="vault-io")

    def ensure_indexes(self) -> None:
        self.audit.create_index([("buyer_id", ASCENDING), ("at", ASCENDING)])
        self.order_addresses.create_index([("buyer_id", ASCENDING)])

    # --- data keys -------------------------------------------------------------------------
    def unwrap(self, key: WrappedKey) -> bytes:
        return self.keyring.unwrap(key.wrapped, version=key.master_version, buyer_id=key.buyer_id)

    def key_for_writing(self, profile: Aggregate) -> tuple[WrappedKey, bytes]:
        """The buyer's data key, created if there is none (concurrent first writers all get the
        one stored first). A key the profile's tombstone names is an erasure's leftover: it is
        destroyed here, as the erasure is about to, and never used."""
        erased = erased_key_ids(profile.state)
        while True:
            stored = self.keys.get(profile.id)
            if stored is None:
                candidate = new_data_key()
                version, wrapped = self.keyring.wrap(candidate, buyer_id=profile.id)
                fresh = WrappedKey(profile.id, card_free(lambda: uuid.uuid4().hex), version, wrapped)
                stored = self.keys.put_if_absent(fresh)
                if stored == fresh:
                    return stored, candidate
            if stored.key_id not in erased:
                return stored, self.unwrap(stored)
            self.keys.delete(profile.id, stored.key_id)

    # --- profiles --------------------------------------------------------------------------
    def save(self, buyer_id: str, profile: EditsProfile, *, actor: Principal, attempts: int = 16) -> None:
        self.edit(buyer_id, _AsSent(profile.as_edit()), actor=actor, attempts=attempts)

    def edit(
        self, buyer_id: str, change: EditsStoredProfile, *, actor: Principal, attempts: int = 16
    ) -> None:
        """Write ``change``, decided on the fields it reads as stored when the key is chosen;
        a profile changed meanwhile is loaded again and the change decided again."""
        for attempt in range(attempts):
            if attempt:
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))  # noqa: S311 (jitter)
            loaded = self.store.load(buyer_id)
            key, data_key = self.key_for_writing(loaded)
            edit = change.edit_of(_decrypted(loaded, change.reads, key=key, data_key=data_key))
            sealed = {
                name: Binary(
                    seal(
                        data_key, json.dumps(value).encode(), buyer_id=buyer_id, field=name, key_id=key.key_id
                    )
                )
                for name, value in edit.values.items()
            }
            decide = partial(_edited, version=loaded.version, key=key, sealed=sealed, edit=edit)
            try:
                self.store.apply(buyer_id, decide)
            except _ChangedMeanwhile:
                continue
            log.info("profile saved", buyer_id=buyer_id, actor=actor.label, fields_saved=sorted(sealed))
            return
        raise ConcurrentChange(f"the profile of {buyer_id} kept changing during {attempts} attempts")

    def consents(self, buyer_id: str) -> Consents | None:
        """The buyer's consent flags (kept in the clear), or None without a profile."""
        document = self.profiles.find_one({"_id": buyer_id}, {"consents": 1})
        if document is None or "consents" not in document:
            return None
        return Consents.model_validate(document["consents"])

    def audit_read(
        self, buyer_id: str, fields: list[str], *, actor: Principal, purpose: str, order_id: str | None
    ) -> None:
        """Record who reads which fields of which buyer, and why, before anything is decrypted."""
        audit_record = {
            "_id": card_free(lambda: uuid.uuid4().hex),
            "at": datetime.now(UTC),
            "actor": actor.label,
            "buyer_id": buyer_id,
            "fields": fields,
            "purpose": purpose,
            "order_id": order_id,
        }
        self.audit.insert_one(audit_record)
        log.info(
            "decrypted read",
            buyer_id=buyer_id,
            actor=actor.label,
            fields_read=fields,
            purpose=purpose,
            order_id=order_id,
        )

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
        alongside the two lookups (three at once), and nothing is returned unless it was
        written. None: no profile, or erased, or sealed under a key an erasure has destroyed."""
        wanted = [f for f in fields if f in ENCRYPTED_FIELDS]
        audited = self._io.submit(
            self.audit_read, buyer_id, wanted, actor=actor, purpose=purpose, order_id=order_id
        )
        key_lookup = self._io.submit(self.keys.get, buyer_id)
        document = self.profiles.find_one({"_id": buyer_id}, {"key_id": 1, "fields": 1, "consents": 1})
        audited.result()
        key = key_lookup.result()
        if document is None or key is None or document.get("key_id") != key.key_id:
            return None
        data_key = self.unwrap(key)
        sealed = document.get("fields", {})
        values = {
            name: json.loads(
                unseal(data_key, bytes(sealed[name]), buyer_id=buyer_id, field=name, key_id=key.key_id)
            )
            for name in wanted
            if name in sealed
        }
        return StoredProfile(values, Consents.model_validate(document.get("consents", {})))

    def erase(self, buyer_id: str, *, actor: Principal) -> bool:
        """Crypto-shred the buyer's data. False when there was nothing left to erase."""
        destroyed: frozenset[str] = frozenset()
        key = self.keys.get(buyer_id)
        if key is not None:
            self.keys.delete(buyer_id, key.key_id)  # every copy of the ciphertext is unreadable now
            destroyed = frozenset({key.key_id})
        decide = partial(_erased, destroyed=destroyed, requested_by=actor.label, at=datetime.now(UTC))
        outcome = self.store.apply(buyer_id, decide)
        for key_id in erased_key_ids(outcome.aggregate.state) - destroyed:
            self.keys.delete(buyer_id, key_id)  # stored by a save that the tombstone overwrote
        # only once every key is destroyed: an order address written meanwhile removes itself
        # when its key is gone (order_addresses.py), or is written before this and removed here
        self.order_addresses.delete_many({"buyer_id": buyer_id})
        if not outcome.committed:
            return False
        log.info("buyer data erased", buyer_id=buyer_id, actor=actor.label)
        return True


def _edited(
    current: Aggregate, *, version: int, key: WrappedKey, sealed: dict[str, Binary], edit: ProfileEdit
) -> Change:
    """The profile after ``edit``, its new fields ``sealed`` under ``key``, chosen for the profile
    at ``version``."""
    if current.version != version:
        raise _ChangedMeanwhile
    state = current.state or {}
    kept = state.get("fields", {}) if state.get("key_id") == key.key_id else {}
    fields = {name: c for name, c in kept.items() if name not in edit.cleared} | sealed
    consents = {**Consents().model_dump(), **state.get("consents", {}), **edit.consents}
    new_state = {
        "key_id": key.key_id,
        "fields": fields,
        "consents": consents,
        "updated_at": datetime.now(UTC),
    }
    saved = BuyerProfileSaved(
        buyer_id=current.id,
        correlation_id=current.id,
        producer=PRODUCER,
        fields_saved=sorted(sealed),
        key_version=key.master_version,
    )
    return Change(new_state, [saved])


def _erased(
    current: Aggregate, *, destroyed: frozenset[str], requested_by: str, at: datetime
) -> Change | None:
    """The tombstone, naming every key the buyer's data may be sealed under; BuyerDataErased when
    it replaces a profile. None when there is nothing new to erase."""
    state = current.state or {}
    live_key = state.get("key_id")
    erased = destroyed | erased_key_ids(state) | ({live_key} if live_key else set())
    if live_key is None and erased == erased_key_ids(state):
        return None
    tombstone = {"erased_key_ids": sorted(erased), "erased_at": at, "requested_by": requested_by}
    if live_key is None:
        return Change(tombstone)
    return Change(
        tombstone, [BuyerDataErased(buyer_id=current.id, correlation_id=current.id, producer=PRODUCER)]
    )
