"""The merchant API's settings, a mixin of merchant-relay's Settings (RELAY_* variables):

- ``RELAY_SECRET_OVERLAP_S`` (default 24 h): how long a signing secret stays valid after a
  rotation replaced it, so deliveries signed during the change verify with either secret.
- ``RELAY_ENDPOINT_RULES``: ``public`` (https on port 443 to public addresses only) or ``local``
  (also http, any port, private and loopback addresses: a receiver on the developer's machine).
  Unset: ``local`` in development, ``public`` everywhere else; ``local`` in production refuses
  to start, so the relay can never be pointed into the platform's own network there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

EndpointRules = Literal["public", "local"]
DAY_S = 24 * 60 * 60


class MerchantApiSettings(BaseSettings):
    secret_overlap_s: float = Field(
        default=DAY_S, ge=0, le=30 * DAY_S, description="a replaced signing secret stays valid this long"
    )
    endpoint_rules: EndpointRules | None = Field(
        default=None, description="which webhook URLs merchants may register; unset: by ENVIRONMENT"
    )

    @model_validator(mode="after")
    def _no_local_endpoints_in_production(self) -> MerchantApiSettings:
        if self.endpoint_rules == "local" and getattr(self, "environment", None) == "production":
            raise ValueError("RELAY_ENDPOINT_RULES=local is refused in production")
        return self

    @property
    def local_endpoints_allowed(self) -> bool:
        if self.endpoint_rules is not None:
            return self.endpoint_rules == "local"
        return getattr(self, "environment", None) == "development"
