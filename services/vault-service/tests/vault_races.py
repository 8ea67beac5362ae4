"""Racers for the vault's concurrency tests, run by tests/conformance's Crowd (each in a process
of its own, with its own MongoDB client and its own connection to the shared key-store file, as
separate vault instances on one machine have) or in threads of one process.

Each racer reports what it did and saw; the test compares that with what is stored. A racer's
key store records every key it destroyed, so the test can tell a profile sealed under a
destroyed key from one that is not.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance_crowd import client, start_line

from buybutton.auth import Principal
from buybutton.unit_of_work import ConcurrentChange
from vault_service.buyer_profile import BuyerProfilePatch
from vault_service.fields import DecryptionFailed
from vault_service.keyring import ConfiguredKeyRing, KeyRingError, UnwrapFailed
from vault_service.keystore import SqliteKeyStore
from vault_service.profile import ProfileIn
from vault_service.vault import Vault

CHECKOUT = Principal("service", "checkout-service", frozenset({"profiles:write"}))


class RecordingKeyStore(SqliteKeyStore):
    """The SQLite key store, remembering the ids of the keys this process destroyed."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.destroyed: set[str] = set()

    def delete(self, buyer_id: str, key_id: str) -> bool:
        deleted = super().delete(buyer_id, key_id)
        if deleted:
            self.destroyed.add(key_id)
        return deleted


def racer_vault(url: str, database: str, keystore: str, master_keys: str) -> tuple[Vault, RecordingKeyStore]:
    keys = RecordingKeyStore(Path(keystore))
    return Vault(client(url)[database], ConfiguredKeyRing.from_config(master_keys), keys), keys


def email_of(racer: int, round_number: int) -> str:
    return f"racer-{racer}-round-{round_number}@example.com"


def read_back(vault: Vault, buyer_id: str, seen: Counter[str]) -> str | None:
    """The buyer's email as the vault reads it now, counting what the read met."""
    try:
        stored = vault.read(buyer_id, ["contact_email"], actor=CHECKOUT, purpose="race check")
    except (DecryptionFailed, UnwrapFailed, KeyRingError) as failure:
        seen[f"integrity failure: {type(failure).__name__}"] += 1
        return None
    seen["reads"] += 1
    if stored is None:
        seen["reads finding nothing"] += 1
        return None
    return stored.values.get("contact_email")


def save_first_profiles(
    vault: Vault, buyers: list[str], racer: int, start: Callable[[], object]
) -> dict[str, int]:
    """Save each buyer's first profile at the moment every other racer does (``start``), then
    read it back."""
    seen: Counter[str] = Counter()
    for buyer_id in buyers:
        start()
        vault.save(buyer_id, ProfileIn(contact_email=email_of(racer, 0)), actor=CHECKOUT)
        seen["saves"] += 1
        email = read_back(vault, buyer_id, seen)
        seen["read back a racer's email"] += bool(email and email.startswith("racer-"))
    return dict(seen)


def first_saves(
    url: str, database: str, keystore: str, master_keys: str, buyers: list[str], racer: int
) -> Any:
    """``save_first_profiles`` in a crowd's process, with a vault of its own."""
    vault, keys = racer_vault(url, database, keystore, master_keys)
    try:
        return save_first_profiles(vault, buyers, racer, start_line)
    finally:
        keys.close()


def settled_state(vault: Vault, buyer_id: str) -> str:
    """What is stored for the buyer once no write is under way."""
    profile = vault.profiles.find_one({"_id": buyer_id}, {"key_id": 1}) or {}
    key = vault.keys.get(buyer_id)
    if "key_id" not in profile:
        return "settled erased" if key is None else "settled erased, with an orphaned key"
    if key is None or key.key_id != profile["key_id"]:
        return "settled live, under a destroyed key"
    return "settled live"


def saves_and_erasures(
    url: str, database: str, keystore: str, master_keys: str, buyers: list[str], racer: int, rounds: int
) -> Any:
    """Round after round, every racer takes the same buyer at the same moment: racer 0 erases,
    each other racer saves (a whole profile, or a buyer's patch) and reads back, or sits the
    round out (so some rounds end erased). Once all are done, racer 0 looks at what is stored."""
    vault, keys = racer_vault(url, database, keystore, master_keys)
    chooser = random.Random(racer)
    seen: Counter[str] = Counter()
    try:
        for round_number in range(rounds):
            buyer_id = buyers[round_number % len(buyers)]
            start_line()
            try:
                if racer == 0:
                    seen["erasures that erased"] += vault.erase(buyer_id, actor=Principal("buyer", buyer_id))
                    seen["erasures"] += 1
                elif chooser.random() < 0.6:
                    email = email_of(racer, round_number)
                    edit = (
                        ProfileIn(contact_email=email)
                        if chooser.random() < 0.5
                        else BuyerProfilePatch(contact_email=email)
                    )
                    vault.save(buyer_id, edit, actor=CHECKOUT)
                    seen["saves"] += 1
                    read_back(vault, buyer_id, seen)
            except ConcurrentChange:
                seen["gave up after lost races"] += 1
            start_line()
            if racer == 0:
                seen[settled_state(vault, buyer_id)] += 1
    finally:
        keys.close()
    return {"seen": dict(seen), "destroyed": sorted(keys.destroyed)}
