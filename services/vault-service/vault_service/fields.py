"""Field encryption under a buyer's data key: AES-256-GCM, a fresh 96-bit random nonce per
encryption (a data key encrypts a handful of fields, far below the random-nonce bound), and
associated data binding buyer id, field name and the data key's id, so a ciphertext cannot be
moved to another buyer, another field, or survive a change of data key."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A field did not authenticate: its ciphertext, buyer, field name or key was changed."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(buyer_id: str, field: str, key_id: str) -> bytes:
    return f"field|{buyer_id}|{field}|{key_id}".encode()


def seal(data_key: bytes, plaintext: bytes, *, buyer_id: str, field: str, key_id: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, _aad(buyer_id, field, key_id))


def unseal(data_key: bytes, sealed: bytes, *, buyer_id: str, field: str, key_id: str) -> bytes:
    try:
        return AESGCM(data_key).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(buyer_id, field, key_id)
        )
    except InvalidTag:
        raise DecryptionFailed(f"field {field!r} of {buyer_id} does not authenticate") from None
