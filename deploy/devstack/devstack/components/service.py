"""One of the platform's own services, run from the workspace as ``python -m <package>`` with
the stack's endpoints in its environment and ``ENVIRONMENT=development`` (set here, never taken
from the shell: a service has no default environment), the stack's keys and trust
(``devstack.identity``: the identity's public key, a service's own signing key, whom it
trusts), and the files it keeps (the vault's key store) under the stack's data folder. Ready
when ``GET /healthz`` answers 200."""

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


PLATFORM_SERVICES = (
    ServiceSpec("tweet-service", "tweet_service", "TWEET", 8001),
    ServiceSpec("checkout-service", "checkout_service", "CHECKOUT", 8002),
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
            **os.environ,
            **self.endpoints.as_env(),
            "ENVIRONMENT": "development",
            f"{prefix}_HTTP_HOST": self.settings.host,
            f"{prefix}_HTTP_PORT": str(self.spec.port),
            "AUTH_PUBLIC_KEY": ensure_key_pair(self.settings)[1],
            **service_trust(self.settings, self.spec.name),
            **{name: str(self.settings.data_dir / path) for name, path in self.spec.data_files},
        }

    def probe(self) -> None:
        with urllib.request.urlopen(f"http://{self.address}/healthz", timeout=2) as response:
            if json.load(response).get("service") != self.spec.name:
                raise RuntimeError(f"{self.address} is not {self.spec.name}")
