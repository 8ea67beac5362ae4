"""What the fake Stripe server's tests share: an SDK client pointed at the fake, the payment
parameters checkout sends, and a webhook inbox (a real HTTP endpoint on loopback that keeps
what it receives and can be told to fail)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import stripe
from stripe.params import PaymentIntentCreateParams

from devstack.fake_stripe_fixtures import FakeStripeAccount

RAINCOAT_SHOP = "acct_1RaincoatShop"


def stripe_client(
    account: FakeStripeAccount, *, retries: int = 0, timeout_s: float = 30.0, api_key: str | None = None
) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key or account.api_key,
        base_addresses={"api": account.url},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout_s),
    )


def card_payment(payment_method: str = "pm_card_visa", **overrides: Any) -> PaymentIntentCreateParams:
    """A PaymentIntent as checkout creates it: confirmed at once, fee to the platform, the rest
    to the merchant's connected account, the order in metadata."""
    params = {
        "amount": 4999,
        "currency": "usd",
        "payment_method": payment_method,
        "payment_method_types": ["card"],
        "confirm": True,
        "application_fee_amount": 250,
        "transfer_data": {"destination": RAINCOAT_SHOP},
        "metadata": {"order_id": "order-raincoat-0001"},
        **overrides,
    }
    return cast(PaymentIntentCreateParams, params)


def wait_until(condition: Callable[[], bool], *, timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s} s")
        time.sleep(0.02)


@dataclass
class Delivery:
    body: str
    signature: str
    received_at: float


@dataclass
class WebhookInbox:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    failures_left: int = 0
    refused: int = 0
    attempt_times: list[float] = field(default_factory=list)

    def event_types(self) -> list[str]:
        return [json.loads(d.body)["type"] for d in self.deliveries]


def start_inbox() -> tuple[WebhookInbox, Callable[[], None]]:
    """An HTTP endpoint on a free loopback port; returns it and the function that stops it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = WebhookInbox(url=f"http://127.0.0.1:{port}/stripe/webhook")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            with lock:
                inbox.attempt_times.append(time.monotonic())
                failing = inbox.failures_left > 0
                if failing:
                    inbox.failures_left -= 1
                    inbox.refused += 1
                else:
                    inbox.deliveries.append(
                        Delivery(body, self.headers.get("Stripe-Signature", ""), time.time())
                    )
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return inbox, stop
