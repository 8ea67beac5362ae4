"""The rollout gate, decided in-process from the rules in force (no call to another service).

bucket = BLAKE2b with an 8-byte digest (digest_size=8, not BLAKE2b-512 cut to 8 bytes) of the
UTF-8 bytes of salt ":" user_id, read as an unsigned big-endian integer, mod 10 000 (test
vectors in docs/rollout-gate.md). A buyer sees the Buy button on a seller's tweet when, in
this order: rules exist (fail closed otherwise); the kill switch is off; the seller is
allow-listed; and either the buyer is on the override list, or the buyer's country is allowed
and bucket < percentage_bps. The hash is keyed by the salt
only, so a decision is the same in every process and after every restart, and raising the
percentage only adds buyers. An unknown or missing country never sees the button.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from buybutton.events import RolloutChanged

BUCKETS = 10_000


def bucket(salt: str, user_id: str) -> int:
    return _bucket(f"{salt}:".encode(), user_id)


def _bucket(salt_prefix: bytes, user_id: str) -> int:
    digest = hashlib.blake2b(salt_prefix + user_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


@dataclass(frozen=True)
class Decision:
    shown: bool
    reason: str


@dataclass(frozen=True)
class GateRules:
    """The rules of one gate, as the newest RolloutChanged for its rule name states them."""

    countries: frozenset[str]
    percentage_bps: int
    allowed_sellers: frozenset[str]
    override_users: frozenset[str]
    kill_switch: bool
    salt: str
    salt_prefix: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "salt_prefix", f"{self.salt}:".encode())

    @classmethod
    def of(cls, event: RolloutChanged) -> GateRules:
        return cls(
            frozenset(event.countries),
            event.percentage_bps,
            frozenset(event.allowed_sellers),
            frozenset(event.override_users),
            event.kill_switch,
            event.salt,
        )

    def shows(self, user_id: str, country: str | None, seller_id: str) -> bool:
        """The decision alone, on the hot path of every timeline (``explain`` says why)."""
        if self.kill_switch or seller_id not in self.allowed_sellers:
            return False
        if user_id in self.override_users:
            return True
        return country in self.countries and _bucket(self.salt_prefix, user_id) < self.percentage_bps

    def explain(self, *, user_id: str, country: str | None, seller_id: str) -> Decision:
        if self.kill_switch:
            return Decision(False, "kill switch is on")
        if seller_id not in self.allowed_sellers:
            return Decision(False, "seller is not allow-listed")
        if user_id in self.override_users:
            return Decision(True, "user is on the override list")
        if country is None or country not in self.countries:
            return Decision(False, f"country {country or 'unknown'} is not in the rollout")
        user_bucket = bucket(self.salt, user_id)
        if user_bucket < self.percentage_bps:
            return Decision(True, f"bucket {user_bucket} < {self.percentage_bps}")
        return Decision(False, f"bucket {user_bucket} >= {self.percentage_bps}")


NO_RULES = Decision(False, "no rollout rules known (fail closed)")


def decide(rules: GateRules | None, *, user_id: str, country: str | None, seller_id: str) -> Decision:
    if rules is None:
        return NO_RULES
    return rules.explain(user_id=user_id, country=country, seller_id=seller_id)
