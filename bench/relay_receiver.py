"""A merchant's webhook receiver for bench/relay.py, in a process of its own (Starlette on
uvicorn, one event loop), so that the bench's load and the relay do not share its CPU.

Consumes POST /hooks/orders: verifies every request with the standardwebhooks library under the
secret in RECEIVER_SECRET (one that does not verify answers 400 and is counted), keeps the first
arrival of each webhook-id (a repeat answers 200 and is counted, as a merchant deduplicates) and
answers 200. Produces GET /_received: every accepted webhook-id with its order id and arrival
time (``time.monotonic()``, the machine's CLOCK_MONOTONIC, comparable with the bench's), and the
counts (``?ids=no``: the number accepted instead of the ids); POST /_reset forgets them (between runs).

    RECEIVER_SECRET=whsec_... python bench/relay_receiver.py PORT
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.service_process import free_port

PATH = "/hooks/orders"


def receiver_app(secret: str) -> Starlette:
    webhook = Webhook(secret)
    accepted: dict[str, tuple[str, float]] = {}
    counts = {"posts": 0, "unverified": 0, "repeats": 0, "body_bytes": 0}

    async def hook(request: Request) -> Response:
        body = await request.body()
        arrived = time.monotonic()
        counts["posts"] += 1
        try:
            payload = webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            counts["unverified"] += 1
            return Response(status_code=400)
        webhook_id = request.headers["webhook-id"]
        if webhook_id in accepted:
            counts["repeats"] += 1
        else:
            accepted[webhook_id] = (str(payload["data"]["order_id"]), arrived)
            counts["body_bytes"] = len(body)
        return Response(status_code=200)

    async def received(request: Request) -> Response:
        if request.query_params.get("ids") == "no":  # cheap enough to poll during a run
            return JSONResponse({"accepted": len(accepted), **counts})
        return JSONResponse({"accepted": accepted, **counts})

    async def reset(_: Request) -> Response:
        accepted.clear()
        counts.update(dict.fromkeys(counts, 0))
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route(PATH, hook, methods=["POST"]),
            Route("/_received", received, methods=["GET"]),
            Route("/_reset", reset, methods=["POST"]),
        ]
    )


@dataclass(frozen=True)
class ReceiverProcess:
    """The receiver as the bench sees it: where to POST, and its record of what arrived."""

    base_url: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return self.base_url + PATH

    def received(self) -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(f"{self.base_url}/_received", timeout=30).json()
        return found

    def accepted_count(self) -> int:
        return int(httpx.get(f"{self.base_url}/_received?ids=no", timeout=30).json()["accepted"])

    def reset(self) -> None:
        httpx.post(f"{self.base_url}/_reset", timeout=30).raise_for_status()


@contextlib.contextmanager
def running_receiver(secret: str, *, start_timeout_s: float = 30) -> Iterator[ReceiverProcess]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, str(port)], env={**os.environ, "RECEIVER_SECRET": secret}
    )
    receiver = ReceiverProcess(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            with contextlib.suppress(httpx.HTTPError):
                receiver.received()
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the receiver did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield receiver
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    app = receiver_app(os.environ["RECEIVER_SECRET"])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
