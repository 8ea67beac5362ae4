"""checkout-service's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL,
AUTH_PUBLIC_KEY, ...) plus its own, read from CHECKOUT_* environment variables."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from buybutton.settings import ServiceSettings

TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")


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

    # Stripe: the gateway (stripe_gateway.py) over the official SDK. Test keys everywhere but
    # production, a live key only there; production talks to Stripe itself (no API base), so a
    # fake or a mock can never stand in for the money. Secrets are SecretStr: never printed.
    stripe_secret_key: SecretStr = Field(
        description="required: sk_test_/rk_test_ unless ENVIRONMENT=production, sk_live_/rk_live_ there"
    )
    stripe_api_base: str | None = Field(
        default=None,
        description="another Stripe API address (stripe-mock, the fake Stripe); empty: Stripe itself",
    )
    stripe_webhook_secret: SecretStr = Field(
        description="required: the whsec_... secret the webhook endpoint verifies Stripe-Signature with"
    )
    stripe_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="bound on one Stripe request (connect + answer)"
    )
    stripe_rate_limit_waits: int = Field(
        default=3, ge=0, le=20, description="how many 429s one call waits out before it is StripeUnavailable"
    )
    stripe_retry_after_cap_s: float = Field(
        default=5.0, gt=0, le=60, description="the longest one wait for a 429's Retry-After"
    )

    @field_validator("stripe_api_base", mode="before")
    @classmethod
    def _empty_api_base_is_stripe(cls, value: object) -> object:
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("whsec_"):
            raise ValueError("CHECKOUT_STRIPE_WEBHOOK_SECRET must be a webhook signing secret (whsec_...)")
        return value

    @model_validator(mode="after")
    def _stripe_mode_matches_environment(self) -> Settings:
        key = self.stripe_secret_key.get_secret_value()
        live = self.environment == "production"
        prefixes = LIVE_KEY_PREFIXES if live else TEST_KEY_PREFIXES
        if not key.startswith(prefixes) or len(key) <= len(prefixes[0]):
            raise ValueError(
                f"CHECKOUT_STRIPE_SECRET_KEY must start with {' or '.join(prefixes)} "
                f"when ENVIRONMENT={self.environment}"
            )
        if live and self.stripe_api_base is not None:
            raise ValueError(
                "CHECKOUT_STRIPE_API_BASE must be empty in production: pay through Stripe itself"
            )
        return self
