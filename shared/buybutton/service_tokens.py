"""A service's own tokens for its outgoing calls: kind ``service``, subject and issuer the
service's name, signed with the service's key (never the identity provider's), one per audience
with the scopes configured for it.

The callee trusts the service as an issuer in its AUTH_TRUSTED_ISSUERS (kind service, this
subject, at most these scopes). Tokens live ``ttl`` (300 s unless told) and are kept and reused
until ``renew_fraction`` of that lifetime has passed (80 %), then minted again, so a call never
carries a token about to expire and a busy service signs one token per audience every few
minutes. Minting holds a lock for the few microseconds it takes and never awaits, so threads
and asyncio tasks may share one ServiceTokens. Minted through ``buybutton.auth.TokenIssuer``;
tokens are never logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from buybutton.auth import TokenIssuer

DEFAULT_TTL = timedelta(seconds=300)
DEFAULT_RENEW_FRACTION = 0.8


class UnknownAudience(LookupError):
    """The service has no scopes configured for this audience, so it calls it with no token."""


class ServiceTokens:
    def __init__(
        self,
        private_key_pem: str,
        *,
        issuer: str,
        audience_scopes: Mapping[str, Iterable[str]],
        ttl: timedelta = DEFAULT_TTL,
        renew_fraction: float = DEFAULT_RENEW_FRACTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a service token must live a positive time")
        if not 0 < renew_fraction <= 1:
            raise ValueError("renew_fraction is a fraction of the lifetime, in (0, 1]")
        self._issuer = TokenIssuer(private_key_pem, issuer=issuer)
        self.service = issuer
        self._scopes = {audience: frozenset(scopes) for audience, scopes in audience_scopes.items()}
        self._ttl = ttl
        self._renew_after_s = ttl.total_seconds() * renew_fraction
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[str, tuple[str, float]] = {}  # audience -> (token, renew at, epoch s)

    def token(self, audience: str) -> str:
        """A token for calling ``audience``: the kept one, or a new one when it is due."""
        scopes = self._scopes.get(audience)
        if scopes is None:
            raise UnknownAudience(f"{self.service} has no scopes for calling {audience}")
        with self._lock:
            now = self._clock()
            cached = self._cached.get(audience)
            if cached is not None and now < cached[1]:
                return cached[0]
            token = self._issuer.mint(
                "service",
                self.service,
                audience=audience,
                scopes=scopes,
                ttl=self._ttl,
                now=datetime.fromtimestamp(now, UTC),
            )
            self._cached[audience] = (token, now + self._renew_after_s)
            return token

    def header(self, audience: str) -> dict[str, str]:
        """The Authorization header for a call to ``audience``."""
        return {"Authorization": f"Bearer {self.token(audience)}"}
