"""Master keys: a versioned key ring that wraps and unwraps each buyer's data key.

``MasterKeyRing`` is the interface a KMS could implement; ``ConfiguredKeyRing`` takes its keys
from configuration (``VAULT_MASTER_KEYS="1:<base64 32 bytes>,2:<...>"``). The newest version
(or ``VAULT_ACTIVE_KEY_VERSION``) wraps new data keys; older versions still unwrap until the
rewrap command has moved every data key off them and they are retired.

Wrapping is AES-256-GCM with associated data binding the buyer id and the master-key version,
so a wrapped key cannot be moved to another buyer or relabelled with another version.
"""

from __future__ import annotations

import base64
import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
# Known to everyone who reads this file: the ring when ENVIRONMENT=development and no
# VAULT_MASTER_KEYS is given; refused in every other environment (see config.py).
DEVELOPMENT_MASTER_KEYS = "1:" + base64.b64encode(b"buybutton-development-master-k1!").decode()


class KeyRingError(Exception):
    """A master-key version is unknown or retired, or configuration is unusable."""


class UnwrapFailed(Exception):
    """A wrapped data key did not authenticate: tampered, moved, or relabelled."""


class MasterKeyRing(Protocol):
    @property
    def active_version(self) -> int: ...

    @property
    def versions(self) -> frozenset[int]: ...

    def wrap(self, data_key: bytes, *, buyer_id: str) -> tuple[int, bytes]: ...

    def unwrap(self, wrapped: bytes, *, version: int, buyer_id: str) -> bytes: ...


def _wrap_aad(buyer_id: str, version: int) -> bytes:
    return f"data-key|{buyer_id}|v{version}".encode()


class ConfiguredKeyRing:
    def __init__(
        self,
        keys: dict[int, bytes],
        *,
        active_version: int | None = None,
        retired: frozenset[int] = frozenset(),
    ) -> None:
        if not keys:
            raise KeyRingError("no master keys configured")
        for version, key in keys.items():
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"master key v{version} must be {KEY_BYTES} bytes")
        self._keys = {v: AESGCM(k) for v, k in keys.items() if v not in retired}
        self._active = active_version if active_version is not None else max(keys)
        if self._active not in self._keys:
            raise KeyRingError(f"active master key v{self._active} is not configured or is retired")

    @classmethod
    def from_config(
        cls, spec: str, *, active_version: int | None = None, retired: frozenset[int] = frozenset()
    ) -> ConfiguredKeyRing:
        """Parse ``"1:<base64>,2:<base64>"``."""
        keys: dict[int, bytes] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            version_text, _, encoded = part.partition(":")
            try:
                keys[int(version_text)] = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise KeyRingError("VAULT_MASTER_KEYS must look like 1:<base64>,2:<base64>") from None
        return cls(keys, active_version=active_version, retired=retired)

    @property
    def active_version(self) -> int:
        return self._active

    @property
    def versions(self) -> frozenset[int]:
        return frozenset(self._keys)

    def _key(self, version: int) -> AESGCM:
        try:
            return self._keys[version]
        except KeyError:
            raise KeyRingError(f"master key v{version} is not available (unknown or retired)") from None

    def wrap(self, data_key: bytes, *, buyer_id: str) -> tuple[int, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        version = self._active
        return version, nonce + self._key(version).encrypt(nonce, data_key, _wrap_aad(buyer_id, version))

    def unwrap(self, wrapped: bytes, *, version: int, buyer_id: str) -> bytes:
        nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        try:
            return self._key(version).decrypt(nonce, sealed, _wrap_aad(buyer_id, version))
        except InvalidTag:
            raise UnwrapFailed(f"data key of {buyer_id} does not authenticate under v{version}") from None
