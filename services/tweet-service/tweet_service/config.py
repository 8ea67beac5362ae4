"""tweet-service's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL,
AUTH_PUBLIC_KEY, ...) plus its own, read from TWEET_* environment variables.

The merchant token signing key (TWEET_MERCHANT_TOKEN_SIGNING_KEY) may be left out in
development and test: the service starts, and only the token endpoint answers 503 naming the
setting. In staging and production the service refuses to start without it, since checkout
cannot tell merchants apart without their tokens. A key that is not an Ed25519 private key, or
a token lifetime beyond AUTH_MAX_TOKEN_LIFETIME_S (no verifier would accept such a token),
refuses the start everywhere."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from buybutton.auth import TokenIssuer, is_principal_id
from buybutton.money import BasisPoints
from buybutton.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TWEET_", frozen=True, extra="ignore")

    service_name: str = "tweet-service"
    http_port: int = 8001
    auth_public_key: str = Field(
        min_length=1,
        validation_alias=AliasChoices("AUTH_PUBLIC_KEY", "auth_public_key"),
        description="required: every endpoint but /healthz needs a verified caller",
    )
    default_fee_bps: BasisPoints = Field(
        default=500, description="platform fee of a new merchant, in basis points of each sale"
    )
    rollout_rule: str = Field(default="buy-button", description="the rollout rule that gates the button")
    outbox_idle_s: float = Field(
        default=0.2, gt=0, le=60, description="how long the outbox relay waits when it found nothing to send"
    )
    rules_wait_s: float = Field(
        default=30.0, ge=0, description="how long start-up waits for the rollout replica to catch up"
    )
    merchant_token_signing_key: SecretStr | None = Field(
        default=None,
        description="PEM of the Ed25519 private key that signs merchant tokens (issuer tweet-service)",
    )
    merchant_token_ttl_s: int = Field(
        default=600, ge=60, description="how long a merchant token lives, at most AUTH_MAX_TOKEN_LIFETIME_S"
    )
    merchant_token_audiences: list[str] = Field(
        default=["checkout-service", "merchant-relay"],
        min_length=1,
        description="the services merchant tokens may be for",
    )

    @field_validator("merchant_token_signing_key")
    @classmethod
    def _signing_key_is_ed25519(cls, key: SecretStr | None) -> SecretStr | None:
        if key is None or not key.get_secret_value().strip():
            return None  # unset, or set empty (as docker compose passes an unset variable)
        try:
            TokenIssuer(key.get_secret_value(), issuer="tweet-service")
        except (ValueError, TypeError):
            raise ValueError("must be the PEM of an Ed25519 private key") from None
        return key

    @field_validator("merchant_token_audiences")
    @classmethod
    def _audiences_are_service_names(cls, audiences: list[str]) -> list[str]:
        if not all(is_principal_id(audience) for audience in audiences):
            raise ValueError("each audience is a service name")
        return audiences

    @model_validator(mode="after")
    def _merchant_tokens_can_be_issued(self) -> Settings:
        if self.merchant_token_ttl_s > self.auth_max_token_lifetime_s:
            raise ValueError(
                "TWEET_MERCHANT_TOKEN_TTL_S is longer than AUTH_MAX_TOKEN_LIFETIME_S: "
                "no service would accept the tokens"
            )
        if self.merchant_token_signing_key is None and self.environment in ("staging", "production"):
            raise ValueError(f"TWEET_MERCHANT_TOKEN_SIGNING_KEY is required in {self.environment}")
        return self
