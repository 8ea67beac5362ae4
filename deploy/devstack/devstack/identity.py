"""A development identity provider: one Ed25519 key pair kept in the stack's state folder
(``.devstack/identity/``, private key readable by its owner only). The services run by the
stack verify tokens with its public key; ``devstack token`` mints tokens with its private key
so a person can try the APIs by hand. Never used outside a local stack."""

from __future__ import annotations

from pathlib import Path

from buybutton.auth import TokenIssuer, generate_signing_key
from devstack.config import StackSettings


def _paths(settings: StackSettings) -> tuple[Path, Path]:
    folder = settings.state_dir / "identity"
    return folder / "private.pem", folder / "public.pem"


def ensure_key_pair(settings: StackSettings) -> tuple[str, str]:
    """The stack's (private PEM, public PEM), created on first use."""
    private_path, public_path = _paths(settings)
    if not private_path.exists():
        private_pem, public_pem = generate_signing_key()
        private_path.parent.mkdir(parents=True, exist_ok=True)
        private_path.touch(mode=0o600)
        private_path.write_text(private_pem)
        public_path.write_text(public_pem)
    return private_path.read_text(), public_path.read_text()


def issuer(settings: StackSettings) -> TokenIssuer:
    return TokenIssuer(ensure_key_pair(settings)[0])
