"""Master-key rotation under concurrent reads and writes, and erasure by crypto-shredding."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from pymongo.database import Database
from vault_support import CANARIES, KEY_V1, KEY_V2, dump_everything, full_profile

from buybutton.auth import Principal
from vault_service.keyring import ConfiguredKeyRing
from vault_service.keystore import SqliteKeyStore
from vault_service.profile import ENCRYPTED_FIELDS, ProfileIn
from vault_service.rotation import KeyStillInUse
from vault_service.vault import Vault

CHECKOUT = Principal("service", "checkout-service", frozenset({"profiles:write", "payment:read"}))
BUYERS = 120


def test_rewrap_under_concurrent_reads_and_writes_loses_nothing(
    mongo_db: Database[dict[str, Any]], keys: SqliteKeyStore
) -> None:
    before = Vault(mongo_db, ConfiguredKeyRing.from_config(f"1:{KEY_V1}"), keys)
    before.ensure_indexes()
    profiles = {f"buyer-{n:03d}": ProfileIn.model_validate(full_profile(f"-{n}")) for n in range(BUYERS)}
    for buyer_id, profile in profiles.items():
        before.save(buyer_id, profile, actor=CHECKOUT)

    rotated = Vault(mongo_db, ConfiguredKeyRing.from_config(f"1:{KEY_V1},2:{KEY_V2}"), keys)
    assert rotated.keyring.active_version == 2
    with pytest.raises(KeyStillInUse, match=f"still wraps {BUYERS}"):
        rotated.rotation.retire(1)

    failures: list[str] = []
    reads = writes = 0
    rewrap_done = threading.Event()

    def reader_and_writer(seed: int) -> None:
        nonlocal reads, writes
        chooser = random.Random(seed)
        while not rewrap_done.is_set():
            buyer_id = chooser.choice(list(profiles))
            try:
                if chooser.random() < 0.2:
                    rotated.save(buyer_id, profiles[buyer_id], actor=CHECKOUT)
                    writes += 1
                stored = rotated.read(buyer_id, ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="load")
                reads += 1
                if stored is None or stored.values != profiles[buyer_id].encrypted_values():
                    failures.append(f"{buyer_id}: wrong or missing data")
            except Exception as error:
                failures.append(f"{buyer_id}: {type(error).__name__}")

    workers = [threading.Thread(target=reader_and_writer, args=(seed,)) for seed in range(3)]
    for worker in workers:
        worker.start()
    progress: list[tuple[int, int]] = []
    try:
        moved = rotated.rotation.rewrap(
            batch_size=25, progress=lambda done, total: progress.append((done, total))
        )
    finally:
        rewrap_done.set()
        for worker in workers:
            worker.join(timeout=60)

    assert failures == [], failures[:5]
    assert reads > 0 and writes >= 0
    assert moved == BUYERS
    assert progress[-1] == (BUYERS, BUYERS)
    assert rotated.rotation.key_usage() == {2: BUYERS}
    rotated.rotation.retire(1)
    assert 1 in {int(d["_id"]) for d in mongo_db["retired_master_keys"].find({})}


def test_rewrap_resumes_after_an_interruption(
    mongo_db: Database[dict[str, Any]], keys: SqliteKeyStore
) -> None:
    before = Vault(mongo_db, ConfiguredKeyRing.from_config(f"1:{KEY_V1}"), keys)
    for n in range(30):
        before.save(f"buyer-{n:02d}", ProfileIn.model_validate(full_profile()), actor=CHECKOUT)
    rotated = Vault(mongo_db, ConfiguredKeyRing.from_config(f"1:{KEY_V1},2:{KEY_V2}"), keys)

    class Interrupted(Exception):
        pass

    def interrupt_after_ten(done: int, _total: int) -> None:
        if done == 10:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotated.rotation.rewrap(batch_size=7, progress=interrupt_after_ten)
    assert rotated.rotation.key_usage() == {1: 20, 2: 10}
    assert rotated.rotation.rewrap(batch_size=7) == 20
    assert rotated.rotation.key_usage() == {2: 30}


def test_erasure_shreds_one_buyer_and_leaves_the_others(
    vault: Vault, mongo_db: Database[dict[str, Any]]
) -> None:
    vault.save("buyer-ada", ProfileIn.model_validate(full_profile("-ada")), actor=CHECKOUT)
    vault.save("buyer-bob", ProfileIn.model_validate(full_profile("-bob")), actor=CHECKOUT)
    backup_of_ada = mongo_db["profiles"].find_one({"_id": "buyer-ada"})
    assert backup_of_ada is not None

    ada = Principal("buyer", "buyer-ada")
    assert vault.erase("buyer-ada", actor=ada) is True

    assert vault.keys.get("buyer-ada") is None
    assert vault.read("buyer-ada", ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="test") is None
    tombstone = mongo_db["profiles"].find_one({"_id": "buyer-ada"})
    assert tombstone is not None and "fields" not in tombstone
    assert [e["event"]["event_type"] for e in tombstone["outbox"]] == ["BuyerProfileSaved", "BuyerDataErased"]
    text = dump_everything(mongo_db)
    assert not any(f"{canary}-ada" in text for canary in CANARIES.values())
    assert vault.erase("buyer-ada", actor=ada) is False, "a second erasure is a no-op"

    # a backup taken before the erasure still holds ciphertext, but its key is gone for good
    mongo_db["profiles"].replace_one({"_id": "buyer-ada"}, backup_of_ada)
    assert vault.read("buyer-ada", ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="test") is None

    bob = vault.read("buyer-bob", ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="test")
    assert bob is not None and bob.values["contact_email"].startswith("ada.canary-bob@")


def test_first_saves_of_one_buyer_racing_from_two_instances_share_one_data_key(
    mongo_db: Database[dict[str, Any]], keys: SqliteKeyStore
) -> None:
    """Two instances, each with its own connection to the one key-store file."""
    own_keys = SqliteKeyStore(keys.path)
    instances = [Vault(mongo_db, ConfiguredKeyRing.from_config(f"1:{KEY_V1}"), k) for k in (keys, own_keys)]
    profile = ProfileIn.model_validate(full_profile())
    failures: list[str] = []

    def save(vault: Vault, buyer_id: str, start: threading.Barrier) -> None:
        start.wait()
        try:
            vault.save(buyer_id, profile, actor=CHECKOUT)
        except Exception as error:
            failures.append(f"{buyer_id}: {type(error).__name__}: {error}")

    buyers = [f"buyer-racing-{n:02d}" for n in range(20)]
    for buyer_id in buyers:
        start = threading.Barrier(4)
        savers = [threading.Thread(target=save, args=(instances[n % 2], buyer_id, start)) for n in range(4)]
        for saver in savers:
            saver.start()
        for saver in savers:
            saver.join(timeout=30)

    own_keys.close()
    assert failures == [], failures[:5]
    assert sum(keys.usage().values()) == len(buyers)
    for buyer_id in buyers:
        stored = instances[0].read(buyer_id, ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="check")
        assert stored is not None and stored.values == profile.encrypted_values(), buyer_id
