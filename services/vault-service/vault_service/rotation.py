"""Master-key rotation over the key store: how many data keys each master-key version wraps,
re-wrapping every data key with the active version, and retiring a version nothing uses.

Owns (MongoDB) ``retired_master_keys`` {_id: version, retired_at}: the key ring refuses a retired
version from the next start on. Re-wrapping changes a data key's wrapping, never the key itself,
so no profile is touched; each key moves in one conditional update (still the key and version
it was read as), so a rewrap can be interrupted and run again, alongside reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from vault_service.keyring import MasterKeyRing
from vault_service.keystore import KeyStore

Progress = Callable[[int, int], None]


class KeyStillInUse(Exception):
    """A master-key version cannot be retired while data keys are wrapped with it."""


class KeyRotation:
    def __init__(self, keys: KeyStore, keyring: MasterKeyRing, retired: Collection[dict[str, Any]]) -> None:
        self.keys = keys
        self.keyring = keyring
        self.retired = retired

    def key_usage(self) -> dict[int, int]:
        """How many data keys each master-key version wraps."""
        return self.keys.usage()

    def rewrap(self, *, batch_size: int = 200, progress: Progress | None = None) -> int:
        """Move every data key to the active master key; answers how many moved."""
        active = self.keyring.active_version
        total = sum(count for version, count in self.keys.usage().items() if version != active)
        moved, after = 0, ""
        while batch := self.keys.wrapped_with_other_than(active, after=after, limit=batch_size):
            for key in batch:
                data_key = self.keyring.unwrap(key.wrapped, version=key.master_version, buyer_id=key.buyer_id)
                version, wrapped = self.keyring.wrap(data_key, buyer_id=key.buyer_id)
                moved += self.keys.replace_wrapping(key, master_version=version, wrapped=wrapped)
                if progress:
                    progress(moved, total)
            after = batch[-1].buyer_id
        return moved

    def retire(self, version: int) -> None:
        if version == self.keyring.active_version:
            raise KeyStillInUse(f"v{version} is the active master key")
        in_use = self.keys.usage().get(version, 0)
        if in_use:
            raise KeyStillInUse(f"v{version} still wraps {in_use} data key(s): run rewrap first")
        self.retired.update_one(
            {"_id": version}, {"$setOnInsert": {"retired_at": datetime.now(UTC)}}, upsert=True
        )


def retired_versions(db: Database[dict[str, Any]]) -> frozenset[int]:
    """Master-key versions retired in this vault's database (the key ring must refuse them)."""
    return frozenset(int(d["_id"]) for d in db["retired_master_keys"].find({}))
