"""Erasure is final where the vault can make it so, and unreadable everywhere else.

A private SecantusDB (the ``private_mongo`` fixture: the local stack's server and command line,
a data folder of this test's own) and a key store of this test's own hold BUYERS profiles,
sealed under master key v1 and then re-wrapped to v2; every second buyer is erased; the server
is stopped with SIGTERM. Then every file of the key store and of the server's data folder is
read:

- no wrapped data key of an erased buyer (neither its v1 nor its v2 wrapping) is in any file,
  nor the v1 wrapping a rewrap replaced of a kept buyer, while every kept buyer's v2 wrapping is
  in the key store (the scan finds what is there) and no wrapped key at all is in the
  database's files (they were never written there);
- erased ciphertexts may remain in the database's files (WiredTiger keeps a record's old bytes
  in its journal until a segment is full and checkpointed, in the oplog until it is pruned, and
  in freed blocks of a collection's file until they are reused: see the README's Erasure); each
  one found is tried with every data key the key store still holds and with every master key,
  and none decrypts, while the kept buyers' ciphertexts, found the same way, all decrypt with
  their keys (so the attempts could succeed); and every window of the key store's files that
  could be a wrapped key is tried with every master key for a few erased buyers: none unwraps.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from vault_support import KEY_V1, KEY_V2, full_profile

from buybutton.auth import Principal
from devstack.private import PrivateSecantusDB
from vault_service.fields import DecryptionFailed, unseal
from vault_service.keyring import ConfiguredKeyRing, UnwrapFailed
from vault_service.keystore import SqliteKeyStore
from vault_service.profile import ProfileIn
from vault_service.vault import Vault

BUYERS = 80
SWEPT_BUYERS = 3
CHECKOUT = Principal("service", "checkout-service", frozenset({"profiles:write"}))
MASTER_KEYS = [base64.b64decode(KEY_V1), base64.b64decode(KEY_V2)]
Sealed = dict[tuple[str, str], tuple[str, bytes]]  # (buyer, field) -> (key id, ciphertext)


def read_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def holding(needle: bytes, files: dict[str, bytes]) -> list[str]:
    return [name for name, data in files.items() if needle in data]


def sealed_fields(vault: Vault, buyers: list[str]) -> Sealed:
    sealed: Sealed = {}
    for document in vault.profiles.find({"_id": {"$in": buyers}}):
        for name, ciphertext in document["fields"].items():
            sealed[(document["_id"], name)] = (document["key_id"], bytes(ciphertext))
    return sealed


def decryptions(sealed: Sealed, candidate_keys: list[bytes]) -> int:
    """How many (ciphertext, key) pairs decrypt."""
    opened = 0
    for (buyer_id, field), (key_id, ciphertext) in sealed.items():
        for key in candidate_keys:
            try:
                unseal(key, ciphertext, buyer_id=buyer_id, field=field, key_id=key_id)
            except DecryptionFailed:
                continue
            opened += 1
    return opened


def unwrapping_windows(files: dict[str, bytes], ring: ConfiguredKeyRing, buyers: list[str], size: int) -> int:
    """Every ``size``-byte window of every file, unwrapped as a data key of each buyer under each
    master-key version: how many unwrap."""
    unwrapped = 0
    for data in files.values():
        for start in range(len(data) - size + 1):
            window = data[start : start + size]
            for buyer_id in buyers:
                for version in ring.versions:
                    try:
                        ring.unwrap(window, version=version, buyer_id=buyer_id)
                    except UnwrapFailed:
                        continue
                    unwrapped += 1
    return unwrapped


def test_no_file_holds_an_erased_key_and_every_ciphertext_left_is_unreadable(
    tmp_path: Path, private_mongo: PrivateSecantusDB
) -> None:
    buyers = [f"buyer-{n:03d}" for n in range(BUYERS)]
    erased, kept = buyers[::2], buyers[1::2]
    ring = ConfiguredKeyRing.from_config(f"1:{KEY_V1},2:{KEY_V2}")
    keystore_dir = tmp_path / "keystore"
    keys = SqliteKeyStore(keystore_dir / "keys.sqlite3")
    wrappings: dict[str, list[bytes]] = {}
    client: MongoClient[dict[str, Any]]
    with MongoClient(private_mongo.url, tz_aware=True) as client:
        db = client["vault_erasure"]
        before_rotation = Vault(db, ConfiguredKeyRing.from_config(f"1:{KEY_V1}"), keys)
        for n, buyer_id in enumerate(buyers):
            before_rotation.save(buyer_id, ProfileIn.model_validate(full_profile(f"-{n}")), actor=CHECKOUT)
        vault = Vault(db, ring, keys)
        wrappings = {b: [k.wrapped] for b in buyers if (k := keys.get(b))}
        assert vault.rotation.rewrap() == BUYERS
        for buyer_id in buyers:
            key = keys.get(buyer_id)
            assert key is not None and key.master_version == 2
            wrappings[buyer_id].append(key.wrapped)
        erased_sealed, kept_sealed = sealed_fields(vault, erased), sealed_fields(vault, kept)
        for buyer_id in erased:
            assert vault.erase(buyer_id, actor=Principal("buyer", buyer_id))
        data_keys_left = [
            ring.unwrap(k.wrapped, version=k.master_version, buyer_id=k.buyer_id)
            for b in buyers
            if (k := keys.get(b))
        ]
    stopped = private_mongo.stop()  # SIGTERM: WiredTiger closes, as an operator would stop it
    data_dir = private_mongo.component.data_dir
    keys.close()

    keystore_files, database_files = read_files(keystore_dir), read_files(data_dir)
    every_file = {**{f"keystore/{n}": d for n, d in keystore_files.items()}, **database_files}
    erased_keys_found = [(b, f) for b in erased for w in wrappings[b] for f in holding(w, every_file)]
    kept_keys_found = sum(bool(holding(wrappings[b][-1], keystore_files)) for b in kept)
    replaced_wrappings_found = [(b, f) for b in kept for f in holding(wrappings[b][0], every_file)]
    keys_in_database = [(b, f) for b in buyers for w in wrappings[b] for f in holding(w, database_files)]
    left = {place: sealed for place, sealed in erased_sealed.items() if holding(sealed[1], database_files)}
    files_left_in = sorted({f for _, c in left.values() for f in holding(c, database_files)})
    kept_found = {
        place: sealed for place, sealed in kept_sealed.items() if holding(sealed[1], database_files)
    }
    candidates = data_keys_left + MASTER_KEYS
    opened_erased = decryptions(left, candidates)
    opened_kept = decryptions(kept_found, candidates)
    window_size = len(wrappings[erased[0]][-1])
    swept = unwrapping_windows(keystore_files, ring, erased[:SWEPT_BUYERS], window_size)
    print(
        f"\nprivate SecantusDB stopped (exit {stopped}); files read: key store {len(keystore_files)}"
        f" ({sum(map(len, keystore_files.values()))} bytes), "
        f"database {len(database_files)} ({sum(map(len, database_files.values()))} bytes)"
        f"\nerased buyers {len(erased)}: wrapped keys (v1 and v2) found {len(erased_keys_found)}; "
        f"kept buyers' wrapped keys found in the key store {kept_keys_found}/{len(kept)}; "
        f"wrapped keys in the database's files {len(keys_in_database)}"
        f"; kept buyers' v1 wrappings (replaced by the rewrap) found {len(replaced_wrappings_found)}"
        f"\nerased ciphertexts still in the database's files {len(left)}/{len(erased_sealed)}"
        f" (in {files_left_in}); decryption attempts {len(left) * len(candidates)}"
        f" with {len(data_keys_left)} data keys left and {len(MASTER_KEYS)} master keys:"
        f" opened {opened_erased}"
        f"\ncontrol: kept ciphertexts found {len(kept_found)}/{len(kept_sealed)}, opened {opened_kept}"
        f"\nkey store windows of {window_size} bytes tried as wrapped keys of {SWEPT_BUYERS} erased buyers "
        f"under {len(ring.versions)} master keys: unwrapped {swept}"
    )
    assert stopped == 0, "the server closed its files cleanly"
    assert erased_keys_found == []
    assert replaced_wrappings_found == [], "a rewrap leaves no copy of the old wrapping either"
    assert keys_in_database == []
    assert kept_keys_found == len(kept), "the scan finds a wrapped key that is there"
    assert len(data_keys_left) == len(kept)
    assert opened_erased == 0
    assert kept_found and opened_kept == len(kept_found), "a ciphertext whose key is kept opens"
    assert swept == 0
