"""How the fake is started: from ``FAKE_STRIPE_<NAME>`` environment variables, overridden by
the command line (``--host``, ``--port``, ``--webhook-url``, ``--webhook-secret``).

A webhook URL without a secret is refused at start: Stripe never sends an unsigned event.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 12113  # not 12112: stripe-mock serves HTTPS there by default


class FakeStripeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FAKE_STRIPE_", frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_max_attempts: int = Field(default=5, ge=1, le=100)
    webhook_backoff_s: float = Field(default=0.5, gt=0)
    log_level: str = "warning"

    @model_validator(mode="after")
    def _signed_webhooks_only(self) -> FakeStripeSettings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(
                "a webhook URL needs a webhook secret (FAKE_STRIPE_WEBHOOK_SECRET or --webhook-secret)"
            )
        return self
