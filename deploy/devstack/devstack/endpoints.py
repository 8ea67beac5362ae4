"""The endpoints a service or a test needs, and the environment variables that carry them.

The names are the ones every service's settings read (``KAFKA_BOOTSTRAP_SERVERS``,
``MONGODB_URL``, ``STRIPE_API_BASE``), so exporting them points services and tests alike at
any stack: this local one, docker-compose, or a shared environment. Those three come all
together or not at all.

Beside them, optional: ``FAKE_STRIPE_API_BASE``, the fake Stripe server (behaviour: replays,
declines, 3-D Secure, faults, counted charges), and ``FAKE_STRIPE_WEBHOOK_SECRET``, the secret
it signs webhooks with. ``STRIPE_API_BASE`` stays stripe-mock (request shapes).
And ``RELAY_MERCHANT_KAFKA_BOOTSTRAP_SERVERS``, the broker's SASL/SCRAM listener for partner
merchants (``relay-admin onboard-kafka`` prints it for them), when the stack has one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

KAFKA_ENV = "KAFKA_BOOTSTRAP_SERVERS"
MONGO_ENV = "MONGODB_URL"
STRIPE_ENV = "STRIPE_API_BASE"
FAKE_STRIPE_ENV = "FAKE_STRIPE_API_BASE"
FAKE_STRIPE_SIGNING_ENV = "FAKE_STRIPE_WEBHOOK_SECRET"
MERCHANT_KAFKA_ENV = "RELAY_MERCHANT_KAFKA_BOOTSTRAP_SERVERS"


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    mongodb_url: str
    stripe_api_base: str
    fake_stripe_api_base: str | None = None
    fake_stripe_webhook_secret: str | None = None
    kafka_merchant_bootstrap: str | None = None

    def as_env(self) -> dict[str, str]:
        env = {
            KAFKA_ENV: self.kafka_bootstrap,
            MONGO_ENV: self.mongodb_url,
            STRIPE_ENV: self.stripe_api_base,
        }
        if self.fake_stripe_api_base:
            env[FAKE_STRIPE_ENV] = self.fake_stripe_api_base
        if self.fake_stripe_webhook_secret:
            env[FAKE_STRIPE_SIGNING_ENV] = self.fake_stripe_webhook_secret
        if self.kafka_merchant_bootstrap:
            env[MERCHANT_KAFKA_ENV] = self.kafka_merchant_bootstrap
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Endpoints | None:
        """The endpoints the environment names, or None when it names none of the three.

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
        fake_base, fake_secret = fake_stripe_from_env(environ)
        merchant_kafka = environ.get(MERCHANT_KAFKA_ENV, "").strip() or None
        return cls(
            values[KAFKA_ENV], values[MONGO_ENV], values[STRIPE_ENV], fake_base, fake_secret, merchant_kafka
        )


def fake_stripe_from_env(environ: Mapping[str, str] = os.environ) -> tuple[str | None, str | None]:
    """(FAKE_STRIPE_API_BASE, FAKE_STRIPE_WEBHOOK_SECRET), each None when unset."""
    base = environ.get(FAKE_STRIPE_ENV, "").strip() or None
    secret = environ.get(FAKE_STRIPE_SIGNING_ENV, "").strip() or None
    return base, secret
