"""``AUTH_TRUSTED_ISSUERS``: the issuers besides the identity provider whose tokens a service
accepts, and the most each may vouch for.

The setting is a JSON list of ``{"issuer", "public_key", "kinds", "subjects"?, "scopes"?}``:
the issuer's name (what its tokens carry in ``iss``), the PEM of its Ed25519 public key, the
token kinds it may issue, the only subjects it may issue them for (left out: any principal id)
and the scopes it may grant at most (left out: none). Checked at start-up: a key that is not an
Ed25519 public key, an issuer named twice or named like the identity provider, or one allowed
to issue admin tokens refuses the start. Admin tokens come from the identity provider alone,
so a service's key, wherever it leaks, can never mint an admin.

Consumes and produces nothing; ``buybutton.auth.TokenVerifier`` keeps the rule at each request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

from buybutton.auth import TokenKind, TrustedIssuer
from buybutton.events.envelope import Identifier


def _ed25519_public_pem(pem: str) -> str:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise ValueError("public_key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public_key must be an Ed25519 public key")
    return pem


def _no_admin(kinds: list[TokenKind]) -> list[TokenKind]:
    if "admin" in kinds:
        raise ValueError("only the identity provider issues admin tokens")
    return kinds


class TrustedIssuerSpec(BaseModel):
    """One entry of AUTH_TRUSTED_ISSUERS, as written in the setting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: Identifier
    public_key: Annotated[str, AfterValidator(_ed25519_public_pem)]
    kinds: Annotated[list[TokenKind], Field(min_length=1), AfterValidator(_no_admin)]
    subjects: list[Identifier] | None = None
    scopes: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]+$", max_length=128)]] = []

    def trusted(self) -> TrustedIssuer:
        return TrustedIssuer(
            name=self.issuer,
            public_key_pem=self.public_key,
            kinds=frozenset(self.kinds),
            scopes=frozenset(self.scopes),
            subjects=None if self.subjects is None else frozenset(self.subjects),
        )


_SPECS: TypeAdapter[list[TrustedIssuerSpec]] = TypeAdapter(list[TrustedIssuerSpec])


def check_names(specs: Sequence[TrustedIssuerSpec], *, identity_issuer: str) -> None:
    """Refuse an issuer named twice, or named like the identity provider (whose key would then
    be ambiguous)."""
    names = [spec.issuer for spec in specs]
    if identity_issuer in names:
        raise ValueError(
            f"AUTH_TRUSTED_ISSUERS: {identity_issuer!r} is the identity provider (AUTH_ISSUER), "
            "not a trusted issuer"
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"AUTH_TRUSTED_ISSUERS: issuers named twice: {', '.join(twice)}")


def trusted_issuers_json(*specs: TrustedIssuerSpec) -> str:
    """The AUTH_TRUSTED_ISSUERS value trusting ``specs`` (for the local stack and tests)."""
    return _SPECS.dump_json(list(specs), exclude_none=True).decode()
