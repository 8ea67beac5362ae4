"""Merchant tokens: what a merchant shows other services instead of its API key, so that they
know who it is without reading tweet-service's database.

Exchanged for a live API key (``api_tokens``): kind ``merchant``, subject the merchant id,
issuer ``tweet-service``, for one audience among TWEET_MERCHANT_TOKEN_AUDIENCES, living
TWEET_MERCHANT_TOKEN_TTL_S; signed with TWEET_MERCHANT_TOKEN_SIGNING_KEY through the shared
``buybutton.auth.TokenIssuer``. A service accepts them when its AUTH_TRUSTED_ISSUERS trusts
tweet-service for kind merchant. A revoked key mints no new token; a token already issued lives
out its (short) life. Tokens are never logged or stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from buybutton.auth import TokenIssuer
from tweet_service.config import Settings

ISSUER = "tweet-service"


@dataclass(frozen=True)
class MerchantToken:
    token: str
    audience: str
    expires_at: datetime


class MerchantTokens:
    def __init__(self, private_key_pem: str, *, ttl: timedelta, audiences: frozenset[str]) -> None:
        self._issuer = TokenIssuer(private_key_pem, issuer=ISSUER)
        self.ttl = ttl
        self.audiences = audiences

    @classmethod
    def from_settings(cls, settings: Settings) -> MerchantTokens | None:
        """None when no signing key is configured (the endpoint then answers 503)."""
        if settings.merchant_token_signing_key is None:
            return None
        return cls(
            settings.merchant_token_signing_key.get_secret_value(),
            ttl=timedelta(seconds=settings.merchant_token_ttl_s),
            audiences=frozenset(settings.merchant_token_audiences),
        )

    def issue(self, merchant_id: str, *, audience: str) -> MerchantToken:
        if audience not in self.audiences:
            raise ValueError(f"merchant tokens are not issued for {audience}")
        now = datetime.now(UTC).replace(microsecond=0)  # the token's times are whole seconds
        token = self._issuer.mint("merchant", merchant_id, audience=audience, ttl=self.ttl, now=now)
        return MerchantToken(token=token, audience=audience, expires_at=now + self.ttl)
