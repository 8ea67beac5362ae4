"""checkout-service's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL,
AUTH_PUBLIC_KEY, ...) plus its own, read from CHECKOUT_* environment variables."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from buybutton.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", frozen=True, extra="ignore")

    service_name: str = "checkout-service"
    http_port: int = 8002
    auth_public_key: str = Field(
        min_length=1,
        validation_alias=AliasChoices("AUTH_PUBLIC_KEY", "auth_public_key"),
        description="required: every endpoint but /healthz needs a verified caller",
    )
    hold_s: float = Field(
        default=600, gt=0, le=86_400, description="how long a tapped Buy holds its stock (CHECKOUT_HOLD_S)"
    )
    sweep_interval_s: float = Field(
        default=1.0, gt=0, le=300, description="how often the sweeper looks for expired holds"
    )
    orphan_grace_s: float = Field(
        default=5.0,
        ge=0,
        le=3_600,
        description="a hold without an order is released this long after its expiry",
    )
    vault_url: str = Field(
        default="http://127.0.0.1:8003", description="vault-service's base URL (CHECKOUT_VAULT_URL)"
    )
    service_signing_key: SecretStr = Field(
        description="Ed25519 private key (PEM) checkout signs its own service tokens with, for the vault"
    )
    payment_lanes: int = Field(
        default=16, ge=1, le=256, description="orders the payment worker pays side by side per instance"
    )
    payment_check_s: float = Field(
        default=30.0,
        gt=0,
        le=3_600,
        description="an order still in payment after its hold expired is looked up at Stripe this often",
    )
    payment_return_url: str | None = Field(
        default=None, description="where 3-D Secure sends the buyer back to (on-session payments)"
    )
    rollout_rule: str = Field(default="buy-button", description="the rollout rule that gates the button")
    outbox_idle_s: float = Field(
        default=0.2, gt=0, le=60, description="how long the outbox relay waits when it found nothing to send"
    )
    rules_wait_s: float = Field(
        default=30.0, ge=0, description="how long start-up waits for the rollout replica to catch up"
    )
