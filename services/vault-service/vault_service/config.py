"""vault-service's settings: the platform-wide ones (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL,
AUTH_PUBLIC_KEY, ...) plus its own, read from VAULT_* environment variables.

VAULT_MASTER_KEYS is the key ring, ``"1:<base64 32 bytes>,2:<...>"``; VAULT_ACTIVE_KEY_VERSION
picks the version that wraps new data keys (default: the highest). VAULT_KEYSTORE_PATH is the
key store's SQLite file (keystore.py), required: keys kept where nobody chose would be lost, or
left, with the machine. VAULT_MASTER_KEYS is
required unless ENVIRONMENT=development is set explicitly; only then does a missing key ring mean
the development one (published in keyring.py), and that ring is refused in any other environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from buybutton.settings import ServiceSettings
from vault_service.keyring import DEVELOPMENT_MASTER_KEYS


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VAULT_", frozen=True, extra="ignore")

    service_name: str = "vault-service"
    http_port: int = 8003
    auth_public_key: str = Field(
        min_length=1,
        validation_alias=AliasChoices("AUTH_PUBLIC_KEY", "auth_public_key"),
        description="required: every vault endpoint but /healthz needs a verified caller",
    )
    master_keys: str = Field(default="", validate_default=True, description="required but in development")
    active_key_version: int | None = None
    keystore_path: Path = Field(description="required: the key store's SQLite file (wrapped data keys)")

    @field_validator("master_keys")
    @classmethod
    def _development_ring_only_when_asked(cls, master_keys: str, info: ValidationInfo) -> str:
        if master_keys or "environment" not in info.data:  # a missing ENVIRONMENT is its own error
            return master_keys
        if info.data["environment"] == "development":
            return DEVELOPMENT_MASTER_KEYS
        raise ValueError("required unless ENVIRONMENT=development")

    @model_validator(mode="after")
    def _no_development_key_outside_development(self) -> Settings:
        development_key = DEVELOPMENT_MASTER_KEYS.split(":", 1)[1]
        if self.environment != "development" and development_key in self.master_keys:
            raise ValueError(f"VAULT_MASTER_KEYS holds the development key; refused in {self.environment}")
        return self
