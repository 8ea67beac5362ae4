"""What happens on the wire before and after the API answers: the request log and faults.

An ASGI middleware around the whole app. For each request under ``/v1/`` it asks the fault
book whether a fault is armed for it, injects it (see faults.py for the classes) and records
the request, its status as the client saw it and the fault, in the request log. Requests to
``/_fake/`` pass untouched and unrecorded.
"""

from __future__ import annotations

import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devstack.fake_stripe.auth import api_key_from
from devstack.fake_stripe.errors import JSON, api_error, rate_limited
from devstack.fake_stripe.faults import Fault, FaultBook
from devstack.fake_stripe.ids import new_id
from devstack.fake_stripe.request_log import RequestLog, endpoint_of
from devstack.fake_stripe.responses import error_response
from devstack.fake_stripe.transport import close_unanswered, reset, transport_of, wait_for_disconnect

DELAY_STATE_KEY = "fake_stripe_delay_s"


class Wire:
    def __init__(self, app: ASGIApp, faults: FaultBook, requests: RequestLog) -> None:
        self.app = app
        self.faults = faults
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method, path = scope["method"], scope["path"]
        api_key = api_key_from(headers)
        idempotency_key = headers.get("idempotency-key") if method == "POST" else None
        entry: JSON = {
            "at": time.time(),
            "method": method,
            "path": path,
            "endpoint": endpoint_of(method, path),
            "api_key": api_key,
            "idempotency_key": idempotency_key,
            "status": None,
            "replayed": False,
            "fault": None,
        }

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                entry["replayed"] = any(
                    name.lower() == b"idempotent-replayed" for name, _ in message["headers"]
                )
            await send(message)

        began = time.monotonic()
        fault = self.faults.take(method, path, api_key, idempotency_key)
        try:
            if fault is None:
                await self.app(scope, receive, observed)
            else:
                entry["fault"] = fault.kind
                await self._inject(fault, entry, scope, receive, send, observed)
        finally:
            entry["duration_ms"] = round((time.monotonic() - began) * 1000, 1)
            self.requests.record(entry)

    async def _inject(
        self, fault: Fault, entry: JSON, scope: Scope, receive: Receive, send: Send, observed: Send
    ) -> None:
        headers = {"Request-Id": new_id("req")}
        if fault.kind == "connection_reset":
            await reset(transport_of(send), receive)
        elif fault.kind == "http_500":
            message = "An unknown error occurred (fault injected by the fake: http_500)."
            await error_response(api_error(message), headers)(scope, receive, observed)
        elif fault.kind == "http_429":
            await error_response(rate_limited(fault.retry_after_s), headers)(scope, receive, observed)
        elif fault.kind == "delay_ms":
            scope.setdefault("state", {})[DELAY_STATE_KEY] = fault.delay_ms / 1000
            await self.app(scope, receive, observed)
        else:
            await self._answer_withheld(fault, entry, scope, receive, send)

    async def _answer_withheld(
        self, fault: Fault, entry: JSON, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """timeout_after_success: execute, keep the answer, hold, then close without it."""
        transport = transport_of(send)

        async def withhold(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["withheld_status"] = message["status"]

        await self.app(scope, receive, withhold)
        if not await wait_for_disconnect(receive, fault.hold_ms / 1000):
            await close_unanswered(transport, receive)
