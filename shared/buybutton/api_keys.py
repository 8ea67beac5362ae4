"""API keys for partner merchants: ``bbk_<key id>.<secret>``, shown once when issued, stored
only as the SHA-256 of the secret (the secret is 256 random bits, so a fast hash is enough: no
dictionary can reach it), compared in constant time. The key id is not secret; it finds the
stored hash and names the key in audit trails and revocations.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from buybutton.sensitive import card_free

PREFIX = "bbk_"


class InvalidApiKey(Exception):
    """The presented value is not shaped like one of our API keys."""


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret_hash: str
    api_key: str  # the only time the whole key exists: hand it to the merchant, never store it


def issue_api_key() -> IssuedKey:
    key_id = card_free(lambda: secrets.token_hex(8))  # it is a path parameter: never card-shaped
    secret = secrets.token_urlsafe(32)
    return IssuedKey(key_id=key_id, secret_hash=hash_secret(secret), api_key=f"{PREFIX}{key_id}.{secret}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(presented: str) -> tuple[str, str]:
    """(key id, secret) of a presented key; InvalidApiKey when it is not shaped like one."""
    if not presented.startswith(PREFIX) or "." not in presented or len(presented) > 200:
        raise InvalidApiKey("not an API key")
    key_id, secret = presented[len(PREFIX) :].split(".", 1)
    if not key_id or not secret:
        raise InvalidApiKey("not an API key")
    return key_id, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
