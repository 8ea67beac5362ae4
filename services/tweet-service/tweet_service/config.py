"""tweet-service's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL,
AUTH_PUBLIC_KEY, ...) plus its own, read from TWEET_* environment variables."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

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
