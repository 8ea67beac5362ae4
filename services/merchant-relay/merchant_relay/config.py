"""merchant-relay's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL,
AUTH_PUBLIC_KEY, AUTH_TRUSTED_ISSUERS, ...) plus its own, read from RELAY_* environment
variables. The rule it keeps: a delivery's lease outlasts everything one attempt may do (the
vault read, the topic publish and the webhook POST, each bounded), so two instances never make
the same attempt at once."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from buybutton.settings import ServiceSettings
from buybutton.topics import MERCHANT_STATS_GROUP
from merchant_relay.api_settings import MerchantApiSettings


class Settings(MerchantApiSettings, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELAY_", frozen=True, extra="ignore")

    service_name: str = "merchant-relay"
    http_port: int = 8004
    vault_url: str = Field(
        default="http://127.0.0.1:8003", description="vault-service's base URL (RELAY_VAULT_URL)"
    )
    vault_timeout_s: float = Field(default=5.0, gt=0, le=60, description="bound on one vault call")
    service_signing_key: SecretStr = Field(
        description="required: Ed25519 private key (PEM) the relay signs its service tokens to the "
        "vault with (scope shipping:read)"
    )
    delivery_horizon_h: float = Field(
        default=24.0,
        gt=0,
        le=24 * 14,
        description="a delivery still failing this long after its first attempt is dead-lettered",
    )
    backoff_base_s: float = Field(default=2.0, gt=0, le=3_600, description="first retry's upper bound")
    backoff_cap_s: float = Field(default=3_600.0, gt=0, le=86_400, description="longest wait between tries")
    retry_after_cap_s: float = Field(
        default=3_600.0, gt=0, le=86_400, description="the longest Retry-After honoured as given"
    )
    attempt_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="bound on one webhook POST (connect + answer)"
    )
    publish_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="bound on one publish to a merchant's topic"
    )
    lease_s: float = Field(
        default=60.0, gt=0, le=3_600, description="how long a claimed delivery is this instance's alone"
    )
    delivery_lanes: int = Field(default=16, ge=1, le=256, description="deliveries attempted side by side")
    delivery_idle_s: float = Field(
        default=0.2, gt=0, le=60, description="how long a lane waits when no delivery is due"
    )
    consume_lanes: int = Field(default=16, ge=1, le=256, description="orders handled side by side")
    consumer_group: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="consumer group of checkout.orders.v1 (default: the service name); tests sharing "
        "a broker give each relay its own, so one test's relay joining never rebalances another's",
    )
    outbox_idle_s: float = Field(default=0.2, gt=0, le=60)
    stats_start_timeout_s: float = Field(
        default=60.0, gt=0, le=600, description="how long the statistics table may take to recover at start"
    )
    replication_factor: int = Field(default=1, ge=1, le=5, description="of each merchant topic created")

    @property
    def consumer_group_id(self) -> str:
        return self.consumer_group or self.service_name

    @property
    def stats_group_id(self) -> str:
        """The statistics table's consumer group (its faust app id): its own, beside the relay's."""
        return f"{self.consumer_group}-stats" if self.consumer_group else MERCHANT_STATS_GROUP

    @property
    def horizon_s(self) -> float:
        return self.delivery_horizon_h * 3_600

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        attempt = self.vault_timeout_s + self.publish_timeout_s + self.attempt_timeout_s
        if self.lease_s <= attempt:
            raise ValueError(
                f"RELAY_LEASE_S ({self.lease_s}) must exceed one attempt's bounds "
                f"(vault + publish + webhook: {attempt} s)"
            )
        return self
