"""One of the platform's own services, run from the workspace as ``python -m <package>`` with
the stack's endpoints in its environment and ``ENVIRONMENT=development`` (set here, never taken
from the shell: a service has no default environment), the stack's keys and trust
(``devstack.identity``: the identity's public key, a service's own signing key, whom it
trusts), and the files it keeps (the vault's key store) under the stack's data folder. A service
that pays (checkout) is pointed at the fake Stripe by default, under the stack's own test key
and with the fake's webhook secret, so a person can try declines and 3-D Secure by hand; its
<PREFIX>_STRIPE_* variables in the shell win (a real test-mode key, an empty API base for
Stripe itself). Ready when ``GET /healthz`` answers 200."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from dataclasses import dataclass

from devstack.components.base import WorkspaceComponent
from devstack.config import StackSettings
from devstack.endpoints import Endpoints
from devstack.identity import ensure_key_pair, service_trust


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    package: str
    env_prefix: str
    port: int
    data_files: tuple[tuple[str, str], ...] = ()  # (variable, path under the stack's data folder)
    pays_through_stripe: bool = False


STACK_STRIPE_KEY = "sk_test_devstack"  # the fake keeps each key's account apart: this is the stack's

PLATFORM_SERVICES = (
    ServiceSpec("tweet-service", "tweet_service", "TWEET", 8001),
    ServiceSpec("checkout-service", "checkout_service", "CHECKOUT", 8002, pays_through_stripe=True),
    ServiceSpec(
        "vault-service",
        "vault_service",
        "VAULT",
        8003,
        data_files=(("VAULT_KEYSTORE_PATH", "vault-keystore/keys.sqlite3"),),
    ),
    ServiceSpec("merchant-relay", "merchant_relay", "RELAY", 8004),
    ServiceSpec("rollout-service", "rollout_service", "ROLLOUT", 8005),
)


class PlatformService(WorkspaceComponent):
    def __init__(self, settings: StackSettings, spec: ServiceSpec, endpoints: Endpoints) -> None:
        super().__init__(settings)
        self.spec = spec
        self.name = spec.name
        self.endpoints = endpoints

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.spec.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.spec.package]

    def environment(self) -> dict[str, str]:
        prefix = self.spec.env_prefix
        return {
            **self._stripe_defaults(),
            **os.environ,
            **self.endpoints.as_env(),
            "ENVIRONMENT": "development",
            f"{prefix}_HTTP_HOST": self.settings.host,
            f"{prefix}_HTTP_PORT": str(self.spec.port),
            "AUTH_PUBLIC_KEY": ensure_key_pair(self.settings)[1],
            **service_trust(self.settings, self.spec.name),
            **{name: str(self.settings.data_dir / path) for name, path in self.spec.data_files},
        }

    def _stripe_defaults(self) -> dict[str, str]:
        fake_url, secret = self.endpoints.fake_stripe_api_base, self.endpoints.fake_stripe_webhook_secret
        if not self.spec.pays_through_stripe or not fake_url or not secret:
            return {}
        prefix = self.spec.env_prefix
        return {
            f"{prefix}_STRIPE_API_BASE": fake_url,
            f"{prefix}_STRIPE_SECRET_KEY": STACK_STRIPE_KEY,
            f"{prefix}_STRIPE_WEBHOOK_SECRET": secret,
        }

    def probe(self) -> None:
        with urllib.request.urlopen(f"http://{self.address}/healthz", timeout=2) as response:
            if json.load(response).get("service") != self.spec.name:
                raise RuntimeError(f"{self.address} is not {self.spec.name}")
