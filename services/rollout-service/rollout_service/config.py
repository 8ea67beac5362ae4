"""rollout-service's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL,
AUTH_PUBLIC_KEY, ...) plus its own, read from ROLLOUT_* environment variables."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from buybutton.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLOUT_", frozen=True, extra="ignore")

    service_name: str = "rollout-service"
    http_port: int = 8005
    auth_public_key: str = Field(
        min_length=1,
        validation_alias=AliasChoices("AUTH_PUBLIC_KEY", "auth_public_key"),
        description="required: every rollout endpoint but /healthz needs a verified admin",
    )
    consumer_group: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="Faust app id and consumer group of the rules processor (default: the service name)",
    )
    command_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="how long a change request waits for its result"
    )
    startup_timeout_s: float = Field(
        default=60.0, gt=0, description="how long start-up waits for the rules replica to catch up"
    )

    @property
    def consumer_group_id(self) -> str:
        return self.consumer_group or self.service_name
