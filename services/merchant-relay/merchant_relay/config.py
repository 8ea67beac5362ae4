"""merchant-relay's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL, ...) plus its
own, read from RELAY_* environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from buybutton.settings import ServiceSettings
from merchant_relay.api_settings import MerchantApiSettings


class Settings(MerchantApiSettings, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELAY_", frozen=True, extra="ignore")

    service_name: str = "merchant-relay"
    http_port: int = 8004
