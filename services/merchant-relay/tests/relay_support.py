"""Test support for merchant-relay: a merchant's webhook receiver in the test process (verifies
every request with the standardwebhooks library, deduplicates by webhook-id, answers as the test
tells it), the checkout events of a paid order, and the calls that put a buyer's address and
consent into a real vault."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from buybutton.auth import TokenIssuer
from buybutton.events import BuyClicked, Event, PaymentCaptured
from buybutton.kafka.producer import EventPublisher
from buybutton.money import Money

PUDDLE = "merchant-puddle-and-co"
ADDRESS = {
    "recipient": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "Boston",
    "region": "MA",
    "postal_code": "02118",
    "country": "US",
}
PRICE = Money(amount_minor=4_999, currency="USD")
STRIPE_INTENT = "pi_3PuddleRaincoatIntent"
Answer = tuple[int, dict[str, str]]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@dataclass
class Received:
    webhook_id: str
    payload: dict[str, Any]
    at: float


@dataclass
class Receiver:
    """A merchant's endpoint. ``answer(webhook_id)`` decides each answer (after verification: a
    request that does not verify answers 400 and is counted in ``unverified``)."""

    secret: str
    answer: Callable[[str], Answer] = lambda _: (200, {})
    posts: list[Received] = field(default_factory=list)
    accepted: dict[str, Received] = field(default_factory=dict)
    unverified: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/orders"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.handle(self, body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers.items()))
        except WebhookVerificationError:
            with self.lock:
                self.unverified += 1
            self._reply(request, 400, {})
            return
        webhook_id = request.headers["webhook-id"]
        received = Received(webhook_id, payload, time.monotonic())
        status, headers = self.answer(webhook_id)
        with self.lock:
            self.posts.append(received)
            if 200 <= status < 300:
                self.accepted.setdefault(webhook_id, received)  # a repeat is dropped: exactly once
        self._reply(request, status, headers)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
        try:
            request.send_response(status)
            for name, value in headers.items():
                request.send_header(name, value)
            request.send_header("content-length", "0")
            request.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender died waiting (a test killed it): the merchant has the order all the same

    def ids_per_order(self) -> dict[str, set[str]]:
        with self.lock:
            found: dict[str, set[str]] = {}
            for post in self.posts:
                found.setdefault(post.payload["data"]["order_id"], set()).add(post.webhook_id)
            return found


def endpoint_document(merchant_id: str, url: str, *secrets: str) -> dict[str, Any]:
    """The merchant API's endpoints document, as the pipeline reads it."""
    now = datetime.now(UTC)
    return {
        "_id": merchant_id,
        "url": url,
        "secrets": [
            {"secret_id": f"secret-{n}", "secret": s, "created_at": now, "expires_at": None}
            for n, s in enumerate(secrets, start=1)
        ],
        "updated_at": now,
    }


def paid_order_events(order_id: str, buyer_id: str, merchant_id: str = PUDDLE) -> list[Event]:
    common = {"order_id": order_id, "correlation_id": order_id, "producer": "checkout-service"}
    return [
        BuyClicked(
            **common,
            tweet_id="tweet-puddle-raincoat",
            merchant_id=merchant_id,
            buyer_id=buyer_id,
            product_id="product-tweet-puddle-raincoat",
            variant_id="raincoat-m",
            quantity=1,
            amount=PRICE,
            hold_expires_at=datetime.now(UTC) + timedelta(minutes=10),
        ),
        PaymentCaptured(
            **common,
            merchant_id=merchant_id,
            buyer_id=buyer_id,
            amount=PRICE,
            platform_fee=Money(amount_minor=250, currency="USD"),
            fee_bps=500,
            payment_reference=STRIPE_INTENT,
            payout=Money(amount_minor=4_749, currency="USD"),
        ),
    ]


async def publish(bootstrap: str, prefix: str, events: list[Event]) -> None:
    publisher = await EventPublisher.start(bootstrap, client_id="tests-relay", topic_prefix=prefix)
    try:
        await publisher.publish_all(events)
    finally:
        await publisher.stop()


@dataclass(frozen=True)
class VaultCalls:
    """A buyer's and checkout's calls to a running vault."""

    url: str
    identity: TokenIssuer
    checkout: TokenIssuer

    def _buyer(self, buyer_id: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.identity.mint("buyer", buyer_id, audience="vault-service")}

    def consent_to_share_email(self, buyer_id: str, email: str) -> None:
        body = {"contact_email": email, "consents": {"share_email_with_merchant": True}}
        response = httpx.put(f"{self.url}/v1/me/profile", json=body, headers=self._buyer(buyer_id))
        assert response.status_code == 200, response.text

    def store_order_address(self, buyer_id: str, order_id: str, address: dict[str, str] = ADDRESS) -> None:
        token = self.checkout.mint(
            "service", "checkout-service", audience="vault-service", scopes=["profiles:write"]
        )
        response = httpx.put(
            f"{self.url}/v1/buyers/{buyer_id}/orders/{order_id}/shipping",
            json={"shipping_address": address},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 204, response.text

    def erase(self, buyer_id: str) -> None:
        response = httpx.delete(f"{self.url}/v1/me/profile", headers=self._buyer(buyer_id))
        assert response.status_code == 204, response.text


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.05)


def as_json(document: Any) -> str:
    return json.dumps(document, default=str)
