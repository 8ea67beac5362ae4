"""Typed settings every service shares, read from the environment and checked at start-up.

Endpoints use the platform-wide names (``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URL``,
``STRIPE_API_BASE``, ``KAFKA_TOPIC_PREFIX``); a service's own settings subclass this with its
prefix (``CHECKOUT_...``). Nothing is read at import time: build settings in ``main()`` or in a
test, and pass them on.

``ENVIRONMENT`` has no default: what is safe in development (the vault's development key ring,
for one) must never be what a deployment gets by forgetting a variable, so a service started
without it refuses to start. The local stack sets ``development``, the tests ``test``.

Who is trusted to sign callers' tokens: the identity provider (``AUTH_PUBLIC_KEY``,
``AUTH_ISSUER``) and the issuers in ``AUTH_TRUSTED_ISSUERS`` within their allowances
(``buybutton.trusted_issuers``), checked here at start-up.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from buybutton.auth import TrustedIssuer
from buybutton.trusted_issuers import TrustedIssuerSpec, check_names

Environment = Literal["development", "test", "staging", "production"]


def _platform(name: str) -> AliasChoices:
    """Read a platform-wide variable without the service prefix."""
    return AliasChoices(name, name.lower())


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    environment: Environment = Field(validation_alias=_platform("ENVIRONMENT"))
    kafka_bootstrap_servers: str = Field(min_length=1, validation_alias=_platform("KAFKA_BOOTSTRAP_SERVERS"))
    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        validation_alias=_platform("KAFKA_TOPIC_PREFIX"),
        description="prepended to every topic name, so tests and tenants can share a broker",
    )
    mongodb_url: str = Field(min_length=1, validation_alias=_platform("MONGODB_URL"))
    mongodb_timeout_ms: int = Field(
        default=10_000,
        ge=100,
        le=600_000,
        validation_alias=_platform("MONGODB_TIMEOUT_MS"),
        description="bound on every MongoDB operation (pymongo timeoutMS); a timeout is transient",
    )
    log_level: str = Field(default="INFO", validation_alias=_platform("LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=_platform("LOG_JSON"))
    auth_public_key: str | None = Field(
        default=None,
        validation_alias=_platform("AUTH_PUBLIC_KEY"),
        description="PEM of the Ed25519 key that signs every caller's token",
    )
    auth_issuer: str = Field(default="buybutton-identity", validation_alias=_platform("AUTH_ISSUER"))
    auth_max_token_lifetime_s: int = Field(
        default=24 * 60 * 60,
        ge=60,
        validation_alias=_platform("AUTH_MAX_TOKEN_LIFETIME_S"),
        description="a token whose exp lies further ahead is refused (401)",
    )
    auth_trusted_issuers: list[TrustedIssuerSpec] = Field(
        default_factory=list,
        validation_alias=_platform("AUTH_TRUSTED_ISSUERS"),
        description="JSON list of the issuers besides the identity provider whose tokens are "
        "accepted, each within its kinds, subjects and scopes (buybutton.trusted_issuers)",
    )

    @model_validator(mode="after")
    def _trusted_issuers_have_own_names(self) -> PlatformSettings:
        check_names(self.auth_trusted_issuers, identity_issuer=self.auth_issuer)
        return self

    @property
    def trusted_issuers(self) -> list[TrustedIssuer]:
        return [spec.trusted() for spec in self.auth_trusted_issuers]


class ServiceSettings(PlatformSettings):
    """Base for a service's settings. Subclasses set ``env_prefix`` and the service name."""

    service_name: str = "service"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    http_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="a longer request body is refused (413) unread"
    )
    mongodb_database: str = ""

    @property
    def database_name(self) -> str:
        return self.mongodb_database or self.service_name.replace("-", "_")
