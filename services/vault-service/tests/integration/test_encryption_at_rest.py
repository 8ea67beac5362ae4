"""Buyer data is ciphertext at rest and fails loudly when tampered with; never wrong data."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from bson import Binary
from pymongo.database import Database
from vault_support import CANARIES, KEY_V1, KEY_V2, dump_everything, full_profile

from buybutton.auth import Principal
from vault_service.fields import DecryptionFailed
from vault_service.keyring import ConfiguredKeyRing, UnwrapFailed
from vault_service.keystore import SqliteKeyStore, WrappedKey
from vault_service.profile import ENCRYPTED_FIELDS, ProfileIn
from vault_service.vault import Vault

CHECKOUT = Principal("service", "checkout-service", frozenset({"profiles:write", "payment:read"}))


def test_every_field_round_trips_and_nothing_is_plaintext_at_rest(
    vault: Vault, mongo_db: Database[dict[str, Any]]
) -> None:
    sent = ProfileIn.model_validate(full_profile())
    vault.save("buyer-ada", sent, actor=CHECKOUT)
    stored = vault.read("buyer-ada", ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="test")
    assert stored is not None
    assert stored.values == sent.encrypted_values()
    assert stored.consents == sent.consents

    raw = dump_everything(mongo_db)
    for canary in CANARIES.values():
        assert canary not in raw
    assert "4242" not in raw  # even the display last4 is ciphertext at rest
    key = vault.keys.get("buyer-ada")
    assert key is not None and key.wrapped.decode("latin-1") not in raw, "no key material in the database"


def tamper(db: Database[dict[str, Any]], collection: str, buyer_id: str, path: str, change: Any) -> None:
    document = db[collection].find_one({"_id": buyer_id})
    assert document is not None
    target = document
    *parents, leaf = path.split(".")
    for part in parents:
        target = target[part]
    target[leaf] = change(target[leaf])
    db[collection].replace_one({"_id": buyer_id}, document)


def tamper_key(keys: SqliteKeyStore, buyer_id: str, **changes: Any) -> None:
    """Change the stored key as someone with write access to the key store's file would."""
    with sqlite3.connect(keys.path) as db:
        for column, value in changes.items():
            db.execute(f"UPDATE data_keys SET {column} = ? WHERE buyer_id = ?", (value, buyer_id))  # noqa: S608


def stored_key(keys: SqliteKeyStore, buyer_id: str) -> WrappedKey:
    key = keys.get(buyer_id)
    assert key is not None
    return key


def flip(position: int) -> Any:
    def change(value: bytes) -> Binary:
        mutable = bytearray(value)
        mutable[position] ^= 0x01
        return Binary(bytes(mutable))

    return change


def test_flipping_any_byte_of_a_field_fails_loudly(vault: Vault, mongo_db: Database[dict[str, Any]]) -> None:
    vault.save("buyer-ada", ProfileIn.model_validate(full_profile()), actor=CHECKOUT)
    original = mongo_db["profiles"].find_one({"_id": "buyer-ada"})
    assert original is not None
    length = len(original["fields"]["contact_email"])
    for position in range(length):
        mongo_db["profiles"].replace_one({"_id": "buyer-ada"}, original)
        tamper(mongo_db, "profiles", "buyer-ada", "fields.contact_email", flip(position))
        with pytest.raises(DecryptionFailed, match="contact_email"):
            vault.read("buyer-ada", ["contact_email"], actor=CHECKOUT, purpose="test")
    mongo_db["profiles"].replace_one({"_id": "buyer-ada"}, original)
    assert vault.read("buyer-ada", ["contact_email"], actor=CHECKOUT, purpose="test") is not None


def test_flipping_any_byte_of_a_wrapped_data_key_fails_loudly(vault: Vault, keys: SqliteKeyStore) -> None:
    vault.save("buyer-ada", ProfileIn.model_validate(full_profile()), actor=CHECKOUT)
    original = stored_key(keys, "buyer-ada").wrapped
    for position in range(len(original)):
        tamper_key(keys, "buyer-ada", wrapped=bytes(flip(position)(original)))
        with pytest.raises(UnwrapFailed):
            vault.read("buyer-ada", ["contact_email"], actor=CHECKOUT, purpose="test")
    tamper_key(keys, "buyer-ada", wrapped=original)
    assert vault.read("buyer-ada", ["contact_email"], actor=CHECKOUT, purpose="test") is not None


def test_ciphertexts_swapped_between_buyers_or_fields_fail(
    vault: Vault, mongo_db: Database[dict[str, Any]], keys: SqliteKeyStore
) -> None:
    vault.save("buyer-ada", ProfileIn.model_validate(full_profile("-a")), actor=CHECKOUT)
    vault.save("buyer-bob", ProfileIn.model_validate(full_profile("-b")), actor=CHECKOUT)
    ada = mongo_db["profiles"].find_one({"_id": "buyer-ada"})
    bob = mongo_db["profiles"].find_one({"_id": "buyer-bob"})
    assert ada is not None and bob is not None

    tamper(
        mongo_db, "profiles", "buyer-ada", "fields.contact_email", lambda _: bob["fields"]["contact_email"]
    )
    with pytest.raises(DecryptionFailed):
        vault.read("buyer-ada", ["contact_email"], actor=CHECKOUT, purpose="test")

    tamper(
        mongo_db,
        "profiles",
        "buyer-bob",
        "fields.stripe_customer_id",
        lambda _: bob["fields"]["default_payment_method_id"],
    )
    with pytest.raises(DecryptionFailed, match="stripe_customer_id"):
        vault.read("buyer-bob", ["stripe_customer_id"], actor=CHECKOUT, purpose="test")

    tamper_key(keys, "buyer-bob", wrapped=stored_key(keys, "buyer-ada").wrapped)
    with pytest.raises(UnwrapFailed):
        vault.read("buyer-bob", ["card"], actor=CHECKOUT, purpose="test")


def test_a_relabelled_master_key_version_fails(
    mongo_db: Database[dict[str, Any]], keys: SqliteKeyStore
) -> None:
    both = ConfiguredKeyRing.from_config(f"1:{KEY_V1},2:{KEY_V2}", active_version=1)
    vault = Vault(mongo_db, both, keys)
    vault.save("buyer-ada", ProfileIn.model_validate(full_profile()), actor=CHECKOUT)
    tamper_key(keys, "buyer-ada", master_version=2)
    with pytest.raises(UnwrapFailed, match="v2"):
        vault.read("buyer-ada", ["card"], actor=CHECKOUT, purpose="test")
