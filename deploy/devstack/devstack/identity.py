"""A development identity provider: one Ed25519 key pair kept in the stack's state folder
(``.devstack/identity/``, private key readable by its owner only). The services run by the
stack verify tokens with its public key; ``devstack token`` mints tokens with its private key
so a person can try the APIs by hand. Never used outside a local stack.

The services that sign tokens themselves get key pairs of their own, kept beside it
(``.devstack/identity/<service>/``): tweet-service's signs merchant tokens
(TWEET_MERCHANT_TOKEN_SIGNING_KEY), checkout-service's its service tokens to the vault
(CHECKOUT_SERVICE_SIGNING_KEY), merchant-relay's its service tokens to the vault
(RELAY_SERVICE_SIGNING_KEY). ``service_trust`` is who trusts whom, as each service's
AUTH_TRUSTED_ISSUERS: checkout and merchant-relay trust tweet-service for merchant tokens; the
vault trusts checkout-service and merchant-relay for their own service tokens, each with the
scopes it needs (the relay: shipping:read), and nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from buybutton.auth import TokenIssuer, TokenKind, generate_signing_key
from buybutton.trusted_issuers import TrustedIssuerSpec, trusted_issuers_json
from devstack.config import StackSettings

CHECKOUT_VAULT_SCOPES = ("payment:read", "profiles:hint", "profiles:write")
RELAY_VAULT_SCOPES = ("shipping:read",)


def _paths(settings: StackSettings, signer: str | None = None) -> tuple[Path, Path]:
    folder = settings.state_dir / "identity"
    if signer is not None:
        folder = folder / signer
    return folder / "private.pem", folder / "public.pem"


def ensure_key_pair(settings: StackSettings, signer: str | None = None) -> tuple[str, str]:
    """The stack's identity (private PEM, public PEM), or ``signer``'s own (a service that signs
    tokens), created on first use."""
    private_path, public_path = _paths(settings, signer)
    if not private_path.exists():
        private_pem, public_pem = generate_signing_key()
        private_path.parent.mkdir(parents=True, exist_ok=True)
        private_path.touch(mode=0o600)
        private_path.write_text(private_pem)
        public_path.write_text(public_pem)
    return private_path.read_text(), public_path.read_text()


def issuer(settings: StackSettings) -> TokenIssuer:
    return TokenIssuer(ensure_key_pair(settings)[0])


def service_trust(settings: StackSettings, service: str) -> dict[str, str]:
    """The signing key and AUTH_TRUSTED_ISSUERS of ``service`` in the local stack (empty for a
    service that neither signs nor trusts anyone but the identity)."""
    if service == "tweet-service":
        return {"TWEET_MERCHANT_TOKEN_SIGNING_KEY": ensure_key_pair(settings, "tweet-service")[0]}
    if service in ("checkout-service", "merchant-relay"):
        prefix = "CHECKOUT" if service == "checkout-service" else "RELAY"
        return {
            f"{prefix}_SERVICE_SIGNING_KEY": ensure_key_pair(settings, service)[0],
            "AUTH_TRUSTED_ISSUERS": trusted_issuers_json(_merchant_tokens_of_tweet_service(settings)),
        }
    if service == "vault-service":
        callers = [
            _service_tokens_of(settings, "checkout-service", CHECKOUT_VAULT_SCOPES),
            _service_tokens_of(settings, "merchant-relay", RELAY_VAULT_SCOPES),
        ]
        return {"AUTH_TRUSTED_ISSUERS": trusted_issuers_json(*callers)}
    return {}


def _merchant_tokens_of_tweet_service(settings: StackSettings) -> TrustedIssuerSpec:
    public_key = ensure_key_pair(settings, "tweet-service")[1]
    return TrustedIssuerSpec(issuer="tweet-service", public_key=public_key, kinds=["merchant"])


def _service_tokens_of(settings: StackSettings, service: str, scopes: Iterable[str]) -> TrustedIssuerSpec:
    return TrustedIssuerSpec(
        issuer=service,
        public_key=ensure_key_pair(settings, service)[1],
        kinds=["service"],
        subjects=[service],
        scopes=list(scopes),
    )


def compose_exports(settings: StackSettings) -> dict[str, str]:
    """The variables docker-compose.yml takes from the shell, from the stack's keys and trust
    (a per-service AUTH_TRUSTED_ISSUERS under the name compose gives it: CHECKOUT_..., VAULT_...,
    RELAY_...)."""
    exports = {"AUTH_PUBLIC_KEY": ensure_key_pair(settings)[1]}
    for service, prefix in (
        ("tweet-service", "TWEET"),
        ("checkout-service", "CHECKOUT"),
        ("vault-service", "VAULT"),
        ("merchant-relay", "RELAY"),
    ):
        for name, value in service_trust(settings, service).items():
            exports[f"{prefix}_{name}" if name == "AUTH_TRUSTED_ISSUERS" else name] = value
    return exports


@dataclass(frozen=True)
class TrustedSigner:
    """A signer besides the identity, for tests: its key pair, a TokenIssuer under its name,
    and what a verifying service is told about it (``spec``; ``setting`` is AUTH_TRUSTED_ISSUERS
    trusting it alone, ``trusted_issuers_json(a.spec, b.spec)`` trusts several)."""

    private_pem: str
    public_pem: str
    issuer: TokenIssuer
    spec: TrustedIssuerSpec

    @property
    def setting(self) -> str:
        return trusted_issuers_json(self.spec)


def new_trusted_signer(
    name: str,
    *,
    kinds: Iterable[TokenKind],
    scopes: Iterable[str] = (),
    subjects: Iterable[str] | None = None,
) -> TrustedSigner:
    """A fresh key pair for the issuer ``name``, trusted for ``kinds`` (and at most ``scopes``,
    only ``subjects`` when given)."""
    private_pem, public_pem = generate_signing_key()
    spec = TrustedIssuerSpec(
        issuer=name,
        public_key=public_pem,
        kinds=list(kinds),
        scopes=sorted(scopes),
        subjects=None if subjects is None else sorted(subjects),
    )
    return TrustedSigner(private_pem, public_pem, TokenIssuer(private_pem, issuer=name), spec)
