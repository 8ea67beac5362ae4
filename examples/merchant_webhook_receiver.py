"""A partner merchant's webhook receiver for its Buy Button orders: what a merchant would copy.

Consumes the relay's ``POST`` deliveries (Standard Webhooks: headers ``webhook-id``,
``webhook-timestamp``, ``webhook-signature``; body ``{type, timestamp, data}``, ``data`` the
order with its line items, amounts, fee, payout and shipping address). Produces one line of JSON
per delivery handled (``handle_order``, where a shop would pick, pack and ship).

The rules it keeps:

- Only verified deliveries are handled. Each is checked with the standardwebhooks library
  against every secret the merchant currently holds (``MERCHANT_WEBHOOK_SECRETS``, space
  separated: during a rotation both the old and the new one, since the relay signs with both
  until the old one expires). Missing or malformed headers answer 400; a signature that matches
  no secret (forged, or a body altered after signing) or a timestamp more than 5 minutes away
  from now (a replay of an old delivery) answers 401. Nothing refused is handled.
- Each delivery is handled once. The relay retries until it gets a 2xx, always under the same
  ``webhook-id``, so a repeat is answered 200 without being handled again. The ids handled are
  kept in memory and, with ``--handled-file``, appended (with the message) to a JSON-lines file
  that is read back at start, so a restart does not handle a delivery twice. (A real shop keeps
  them in its own database, written in the same transaction as the order.)
- A delivery is answered 2xx only after it was handled and recorded: a failure answers 500 and
  the relay tries again later.

    MERCHANT_WEBHOOK_SECRETS='whsec_...' \\
    python examples/merchant_webhook_receiver.py --port 9100 --handled-file handled.jsonl

Only the standardwebhooks library is needed (pip install standardwebhooks).
"""

from __future__ import annotations

import argparse
import binascii
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MAX_BODY_BYTES = 1_048_576
REQUIRED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
OrderHandler = Callable[[str, dict[str, Any]], None]


class Refused(Exception):
    """A delivery that is not handled, with the status it is answered with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def handle_order(webhook_id: str, message: dict[str, Any]) -> None:
    """Where a shop would pick, pack and ship: here, a summary of what arrived."""
    order = message.get("data", {})
    address = order.get("shipping_address") or {}
    summary = {
        "handled": webhook_id,
        "type": message.get("type"),
        "order_id": order.get("order_id"),
        "payout": order.get("payout"),
        "ship_to_country": address.get("country"),
    }
    print(json.dumps(summary), flush=True)


class HandledDeliveries:
    """The deliveries handled so far, by webhook-id (and appended to ``path`` when given)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.messages: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.messages[entry["webhook_id"]] = entry["message"]

    def __contains__(self, webhook_id: str) -> bool:
        return webhook_id in self.messages

    def add(self, webhook_id: str, message: dict[str, Any]) -> None:
        if self.path is not None:
            with self.path.open("a") as file:
                file.write(json.dumps({"webhook_id": webhook_id, "message": message}) + "\n")
        self.messages[webhook_id] = message


class WebhookReceiver:
    """Verifies, deduplicates and handles deliveries; ``serve`` puts it behind an HTTP server."""

    def __init__(
        self,
        secrets: Iterable[str],
        *,
        handled: HandledDeliveries | None = None,
        handle: OrderHandler = handle_order,
    ) -> None:
        self.webhooks = [Webhook(secret) for secret in secrets]
        self.handled = handled if handled is not None else HandledDeliveries()
        self.handle = handle
        self.repeats = 0
        self.refused = 0
        self._lock = threading.Lock()

    def accept_secret(self, secret: str) -> None:
        """Trust one more secret (the new one of a rotation) beside those held."""
        self.webhooks = [*self.webhooks, Webhook(secret)]

    def verify(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The message, if any secret held verifies it; else Refused (400 or 401)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        if not all(lowered.get(name) for name in REQUIRED_HEADERS):
            raise Refused(400, "missing webhook headers")
        if not lowered["webhook-timestamp"].isdigit():
            raise Refused(400, "malformed webhook-timestamp")
        reasons = []
        for webhook in self.webhooks:
            try:
                message: dict[str, Any] = webhook.verify(body, lowered)
            except WebhookVerificationError as error:
                reasons.append(str(error))
            except (ValueError, binascii.Error) as error:  # a signature header not of `v1,<base64>`
                raise Refused(400, "malformed webhook headers") from error
            else:
                return message
        raise Refused(401, reasons[0] if reasons else "no secret held")

    def receive(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """The status and answer for one delivery, handling it if it is new."""
        try:
            message = self.verify(body, headers)
        except Refused as refusal:
            with self._lock:
                self.refused += 1
            return refusal.status, {"error": refusal.reason}
        webhook_id = {name.lower(): value for name, value in headers.items()}["webhook-id"]
        with self._lock:  # one delivery at a time, so a repeat arriving alongside waits and is seen
            if webhook_id in self.handled:
                self.repeats += 1
                return 200, {"duplicate": True}
            self.handle(webhook_id, message)
            self.handled.add(webhook_id, message)
        return 200, {"handled": True}


def serve(receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving: call ``serve_forever``) that POSTs go to ``receiver``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"error": "body too large"})
                return
            try:
                status, answer = receiver.receive(self.rfile.read(length), dict(self.headers.items()))
            except Exception:  # handling failed: not recorded, so the relay's retry is handled
                status, answer = 500, {"error": "not handled"}
            self._answer(status, answer)

        def _answer(self, status: int, answer: dict[str, Any]) -> None:
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass  # the handler prints what it handled; request lines would only repeat it

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--handled-file", type=Path, help="where handled deliveries are remembered")
    args = parser.parse_args()
    secrets = os.environ["MERCHANT_WEBHOOK_SECRETS"].split()
    receiver = WebhookReceiver(secrets, handled=HandledDeliveries(args.handled_file))
    server = serve(receiver, args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


if __name__ == "__main__":
    main()
