"""tweet-service's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL, ...) plus its
own, read from TWEET_* environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from buybutton.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TWEET_", frozen=True, extra="ignore")

    service_name: str = "tweet-service"
    http_port: int = 8001
