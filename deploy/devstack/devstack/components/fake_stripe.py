"""The fake Stripe server (devstack.fake_stripe) as a stack component, beside stripe-mock.

stripe-mock checks request shapes; this fake shows behaviour (idempotent replay, declines,
3-D Secure, faults, charge counts). Nothing to install: it runs from the workspace as
``python -m devstack.fake_stripe``. Its webhook signing secret is made once and kept in the
state folder (``.devstack/fake-stripe/webhook_secret``, owner-only), given to it through the
environment, never on the command line. Ready when ``GET /_fake/health`` names it.

``private_fake_stripe`` runs one of its own on a free port for a test session, and stops it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.components.base import WorkspaceComponent
from devstack.components.service import PLATFORM_SERVICES
from devstack.config import StackSettings
from devstack.endpoints import FAKE_STRIPE_SIGNING_ENV
from devstack.processes import ManagedProcess


def ensure_webhook_secret(settings: StackSettings) -> str:
    path = settings.state_dir / "fake-stripe" / "webhook_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(f"whsec_{secrets.token_hex(24)}")
    return path.read_text().strip()


class FakeStripe(WorkspaceComponent):
    name = "fake-stripe"

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.fake_stripe_port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "devstack.fake_stripe", "--host", self.settings.host]
        command += ["--port", str(self.settings.fake_stripe_port)]
        command += ["--webhook-url", self.webhook_url]
        return command

    @property
    def webhook_url(self) -> str:
        """Where Stripe's events go: DEVSTACK_FAKE_STRIPE_WEBHOOK_URL, by default the local
        checkout-service's webhook endpoint (``make up`` runs it there; until it does, the fake's
        deliveries fail and are retried a few times, as Stripe's are)."""
        checkout = next(s for s in PLATFORM_SERVICES if s.name == "checkout-service")
        default = f"http://{self.settings.host}:{checkout.port}/v1/stripe/webhook"
        return self.settings.fake_stripe_webhook_url or default

    def environment(self) -> dict[str, str]:
        return {**os.environ, FAKE_STRIPE_SIGNING_ENV: ensure_webhook_secret(self.settings)}

    def probe(self) -> None:
        with urllib.request.urlopen(f"{self.url}/_fake/health", timeout=2) as response:
            if json.load(response).get("service") != "fake-stripe":
                raise RuntimeError(f"{self.address} is not the fake Stripe server")


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def private_fake_stripe(state_dir: Path, *, timeout_s: float = 30.0) -> Iterator[FakeStripe]:
    """A fake of this caller's own on a free port, with its state folder; stopped on exit."""
    settings = StackSettings(state_dir=state_dir, fake_stripe_port=_free_port("127.0.0.1"), host="127.0.0.1")
    fake = FakeStripe(settings)
    process = ManagedProcess(fake.name, settings.run_dir / f"{fake.name}.pid")
    log = settings.log_file(fake.name)
    process.spawn(fake.command(), log_file=log, cwd=state_dir, env=fake.environment())
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fake.probe()
                break
            except OSError:
                if process.running_pid() is None or time.monotonic() > deadline:
                    raise RuntimeError(f"the fake Stripe server did not answer; see {log}") from None
                time.sleep(0.1)
        yield fake
    finally:
        process.stop(grace_s=10)
