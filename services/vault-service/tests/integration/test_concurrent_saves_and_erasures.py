"""The vault under races, with real MongoDB and one key-store file shared by every racer.

First saves: CROWD_SIZE processes (separate vault instances on one machine), then 8 threads of
one vault (a service's request handlers), save each buyer's first profile at the same moment.
Afterwards each buyer has exactly one data key, the one its profile is sealed under, every save
committed (one BuyerProfileSaved each) and every racer read its save back.

Saves racing erasures: one process erases while the others save (a whole profile, or a buyer's
patch) and read back, or sit the round out, all on the same buyer at the same moment, round
after round; after each round, once all are done, what is stored is looked at. No read meets a
ciphertext that fails its check; every round settles either live, sealed under the key the key
store holds for the buyer (never under a destroyed one: every key destroyed is recorded and
none is a live profile's), or erased without a key left (no orphan); and once a last erasure of
each buyer settles, the key store holds no key at all.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance_crowd import CROWD_SIZE, Crowd, in_threads
from pymongo.database import Database
from vault_races import CHECKOUT, RecordingKeyStore, first_saves, save_first_profiles, saves_and_erasures
from vault_support import KEY_V1

from buybutton.auth import Principal
from devstack.endpoints import Endpoints
from vault_service.keyring import ConfiguredKeyRing
from vault_service.vault import Vault

MASTER_KEYS = f"1:{KEY_V1}"
BUYERS = 30
THREADS = 8
CONTESTED_BUYERS = 6
ROUNDS = 200


@pytest.fixture(scope="module")
def crowd() -> Iterator[Crowd]:
    racers = Crowd()
    try:
        yield racers
    finally:
        racers.close()


def keystore_of(tmp_path: Path) -> str:
    return str(tmp_path / "keystore" / "keys.sqlite3")


def saved_events(db: Database[dict[str, Any]], buyer_id: str) -> int:
    document = db["profiles"].find_one({"_id": buyer_id}, {"outbox": 1})
    outbox = document["outbox"] if document else []
    return sum(entry["event"]["event_type"] == "BuyerProfileSaved" for entry in outbox)


def check_one_key_per_buyer(vault: Vault, buyers: list[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    for buyer_id in buyers:
        key = vault.keys.get(buyer_id)
        profile = vault.profiles.find_one({"_id": buyer_id}, {"key_id": 1})
        found["buyers with a key"] += key is not None
        found["profiles sealed under their key"] += bool(key and profile and profile["key_id"] == key.key_id)
        found["saves committed"] += saved_events(vault.profiles.database, buyer_id)
        stored = vault.read(buyer_id, ["contact_email"], actor=CHECKOUT, purpose="test")
        found["profiles readable"] += bool(stored and stored.values["contact_email"].startswith("racer-"))
    found["keys stored"] = sum(vault.keys.usage().values())
    return found


def test_first_saves_racing_in_processes_make_one_key_per_buyer(
    crowd: Crowd, endpoints: Endpoints, mongo_db: Database[dict[str, Any]], tmp_path: Path
) -> None:
    buyers = [f"buyer-{n:02d}" for n in range(BUYERS)]
    arguments = [
        (endpoints.mongodb_url, mongo_db.name, keystore_of(tmp_path), MASTER_KEYS, buyers, racer)
        for racer in range(CROWD_SIZE)
    ]
    seen = sum((Counter(report) for report in crowd.race(first_saves, arguments)), Counter())
    keys = RecordingKeyStore(Path(keystore_of(tmp_path)))
    found = check_one_key_per_buyer(Vault(mongo_db, ConfiguredKeyRing.from_config(MASTER_KEYS), keys), buyers)
    keys.close()
    print(f"\n{CROWD_SIZE} processes x {BUYERS} buyers: racers saw {dict(seen)}; stored {dict(found)}")
    assert seen["saves"] == seen["read back a racer's email"] == CROWD_SIZE * BUYERS
    assert not any(name.startswith("integrity failure") for name in seen)
    assert found["keys stored"] == found["buyers with a key"] == BUYERS
    assert found["profiles sealed under their key"] == found["profiles readable"] == BUYERS
    assert found["saves committed"] == CROWD_SIZE * BUYERS


def test_first_saves_racing_in_threads_of_one_vault_make_one_key_per_buyer(
    vault: Vault, mongo_db: Database[dict[str, Any]]
) -> None:
    buyers = [f"buyer-{n:02d}" for n in range(BUYERS)]
    together = threading.Barrier(THREADS)
    reports = in_threads(THREADS, lambda racer: save_first_profiles(vault, buyers, racer, together.wait))
    seen = sum((Counter(report) for report in reports), Counter())
    found = check_one_key_per_buyer(vault, buyers)
    print(f"\n{THREADS} threads x {BUYERS} buyers: racers saw {dict(seen)}; stored {dict(found)}")
    assert seen["saves"] == seen["read back a racer's email"] == THREADS * BUYERS
    assert (
        found["keys stored"]
        == found["profiles sealed under their key"]
        == found["profiles readable"]
        == BUYERS
    )
    assert found["saves committed"] == THREADS * BUYERS


def test_saves_racing_erasures_never_leave_data_under_a_destroyed_key_nor_an_orphaned_key(
    crowd: Crowd, endpoints: Endpoints, mongo_db: Database[dict[str, Any]], tmp_path: Path
) -> None:
    buyers = [f"buyer-{n}" for n in range(CONTESTED_BUYERS)]
    arguments = [
        (endpoints.mongodb_url, mongo_db.name, keystore_of(tmp_path), MASTER_KEYS, buyers, racer, ROUNDS)
        for racer in range(CROWD_SIZE)
    ]
    reports = crowd.race(saves_and_erasures, arguments)
    seen = sum((Counter(report["seen"]) for report in reports), Counter())
    destroyed = {key_id for report in reports for key_id in report["destroyed"]}

    keys = RecordingKeyStore(Path(keystore_of(tmp_path)))
    vault = Vault(mongo_db, ConfiguredKeyRing.from_config(MASTER_KEYS), keys)
    live = [p for p in vault.profiles.find({"_id": {"$in": buyers}}) if "key_id" in p]
    under_destroyed = sum(p["key_id"] in destroyed for p in live)
    for buyer_id in buyers:
        vault.erase(buyer_id, actor=Principal("buyer", buyer_id))
    left = sum(keys.usage().values())
    keys.close()
    print(
        f"\n{CROWD_SIZE} processes x {ROUNDS} rounds on {CONTESTED_BUYERS} buyers: {dict(seen)};"
        f" keys destroyed {len(destroyed)}; live profiles at the end {len(live)}, under a destroyed key"
        f" {under_destroyed}; keys left after a last erasure of each buyer {left}"
    )
    assert seen["saves"] > 0 and seen["erasures that erased"] > 0, "the race must have erased and saved"
    assert seen["settled live"] > 0 and seen["settled erased"] > 0, "rounds must have ended both ways"
    assert seen["settled live"] + seen["settled erased"] == ROUNDS, seen
    assert not any(name.startswith("integrity failure") for name in seen), seen
    assert seen["gave up after lost races"] == 0
    assert under_destroyed == 0
    assert left == 0
