"""stripe-mock, Stripe's official API mock, bound to the loopback address.

Install: ``go install`` of the pinned version into the cache. Ready when an authenticated
``GET /v1/balance`` answers 200.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from devstack.components.base import Component, content_key, require_tool, run_logged

STRIPE_MOCK_MODULE = "github.com/stripe/stripe-mock"
STRIPE_MOCK_VERSION = "v0.203.0"
PROBE_KEY = "sk_test_devstack"


class StripeMock(Component):
    name = "stripe-mock"

    def cache_key(self) -> str:
        return content_key(extra=STRIPE_MOCK_VERSION)

    def check_tools(self) -> None:
        require_tool("go", "stripe-mock is built with Go 1.22+ (Debian: apt-get install golang-go)")

    @property
    def binary(self) -> Path:
        return self.install_dir / "stripe-mock"

    def install(self) -> None:
        run_logged(
            ["go", "install", f"{STRIPE_MOCK_MODULE}@{STRIPE_MOCK_VERSION}"],
            log_file=self.install_dir / "install.log",
            cwd=self.install_dir,
            env={"GOBIN": str(self.install_dir), "CGO_ENABLED": "0"},
            what="building stripe-mock",
        )

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.stripe_port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def command(self) -> list[str]:
        return [str(self.binary), "-http-addr", self.address]

    def probe(self) -> None:
        request = urllib.request.Request(
            f"{self.url}/v1/balance", headers={"Authorization": f"Bearer {PROBE_KEY}"}
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            if response.status != 200:
                raise RuntimeError(f"stripe-mock answered {response.status}")
