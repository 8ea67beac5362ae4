"""Support for the merchant-delivery tests: examples/merchant_webhook_receiver.py loaded as a
partner would run it (its WebhookReceiver behind its own HTTP server, here on a free loopback
port in the test process, recording every request it gets), deliveries signed with the
standardwebhooks library as the relay signs them, and the scan of what a merchant got for
card numbers and Stripe ids."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from standardwebhooks import Webhook

from buybutton.sensitive import card_numbers_in

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "merchant_webhook_receiver.py"
STRIPE_ID = re.compile(r"\b(?:cus|pm|pi|ch|seti)_[A-Za-z0-9]")


def example_module() -> ModuleType:
    """examples/merchant_webhook_receiver.py, imported from its file (examples are no package)."""
    spec = importlib.util.spec_from_file_location("merchant_webhook_receiver", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Request:
    body: bytes
    headers: dict[str, str]
    status: int


@dataclass
class RunningReceiver:
    """The example's receiver, serving on ``url``; ``requests`` is every POST it answered."""

    receiver: Any
    url: str
    requests: list[Request] = field(default_factory=list)

    def handled_of(self, order_id: str, kind: str = "order.paid") -> list[tuple[str, dict[str, Any]]]:
        return [
            (webhook_id, message)
            for webhook_id, message in dict(self.receiver.handled.messages).items()
            if message["data"]["order_id"] == order_id and message["type"] == kind
        ]

    def requests_for(self, webhook_id: str) -> list[Request]:
        return [r for r in list(self.requests) if r.headers.get("webhook-id") == webhook_id]


@contextlib.contextmanager
def running_receiver(
    secrets: Iterable[str] = (), handled_file: Path | None = None
) -> Iterator[RunningReceiver]:
    """The example's receiver and server as a partner runs them, with each request recorded."""
    example = example_module()
    running: RunningReceiver

    class Recording(example.WebhookReceiver):  # type: ignore[name-defined,misc]
        def receive(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
            status, answer = super().receive(body, headers)
            lowered = {name.lower(): value for name, value in headers.items()}
            running.requests.append(Request(body, lowered, status))
            return status, answer

    receiver = Recording(
        list(secrets), handled=example.HandledDeliveries(handled_file), handle=lambda *_: None
    )
    server = example.serve(receiver, "127.0.0.1", 0)
    running = RunningReceiver(receiver, f"http://127.0.0.1:{server.server_address[1]}/buybutton/orders")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def signed(
    secrets: Iterable[str], webhook_id: str, at: datetime, message: Mapping[str, Any]
) -> tuple[bytes, dict[str, str]]:
    """A delivery as the relay sends it: the body and its headers, signed with every secret."""
    body = json.dumps(message)
    signatures = " ".join(Webhook(secret).sign(webhook_id, at, body) for secret in secrets)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }
    return body.encode(), headers


@dataclass
class Leaks:
    """What a scan of the texts a merchant got found: card numbers and Stripe ids."""

    scanned: int = 0
    characters: int = 0
    card_numbers: list[str] = field(default_factory=list)
    stripe_ids: list[str] = field(default_factory=list)

    def scan(self, texts: Iterable[str], known_stripe_ids: Iterable[str]) -> Leaks:
        known = list(known_stripe_ids)
        for text in texts:
            self.scanned += 1
            self.characters += len(text)
            self.card_numbers += card_numbers_in(text)
            self.stripe_ids += [m.group(0) for m in STRIPE_ID.finditer(text)]
            self.stripe_ids += [stripe_id for stripe_id in known if stripe_id in text]
        return self
