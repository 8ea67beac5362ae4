"""What end-to-end tests hold while the services run: clients for each service's HTTP API and the
identity provider that signs the callers' tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from buybutton.auth import TokenIssuer, TokenKind


@dataclass
class Platform:
    issuer: TokenIssuer
    tweets: httpx.Client
    rollout: httpx.Client
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    pinned: dict[str, str] = field(default_factory=dict)  # ids of things that exist, by path parameter

    def bearer(self, kind: TokenKind, subject: str, audience: str, **claims: Any) -> dict[str, str]:
        token = self.issuer.mint(kind, subject, audience=audience, **claims)
        return {"Authorization": f"Bearer {token}"}
