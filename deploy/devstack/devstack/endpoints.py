"""The three endpoints a service or a test needs, and the environment variables that carry them.

The names are the ones every service's settings read (``KAFKA_BOOTSTRAP_SERVERS``,
``MONGODB_URL``, ``STRIPE_API_BASE``), so exporting them points services and tests alike at
any stack: this local one, docker-compose, or a shared environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

KAFKA_ENV = "KAFKA_BOOTSTRAP_SERVERS"
MONGO_ENV = "MONGODB_URL"
STRIPE_ENV = "STRIPE_API_BASE"


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    mongodb_url: str
    stripe_api_base: str

    def as_env(self) -> dict[str, str]:
        return {
            KAFKA_ENV: self.kafka_bootstrap,
            MONGO_ENV: self.mongodb_url,
            STRIPE_ENV: self.stripe_api_base,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Endpoints | None:
        """The endpoints the environment names, or None when it names none of them.

        Naming only some of them is a configuration mistake and is refused loudly.
        """
        values = {name: environ.get(name, "").strip() for name in (KAFKA_ENV, MONGO_ENV, STRIPE_ENV)}
        given = [name for name, value in values.items() if value]
        if not given:
            return None
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise RuntimeError(
                f"{', '.join(given)} set but {', '.join(missing)} not: set all three endpoints or none"
            )
        return cls(values[KAFKA_ENV], values[MONGO_ENV], values[STRIPE_ENV])
