"""Checks every HTTP request passes before any route sees it (ASGI middleware, installed by
``buybutton.service.service_app`` on every service):

- ``CardFreeQuery``: a query parameter whose name or value holds card data (as
  ``buybutton.sensitive`` reads it) answers 422, whatever the route (declared parameter or not),
  so a card number never becomes an id, a Kafka key or a log field. The answer names the
  parameter and never repeats what was sent. Path parameters are checked by their route's type
  (``buybutton.inputs.CardFree``) instead: some are ids the platform drew itself, which a
  caller only looks up.
- ``BodySizeLimit``: a body longer than the service's ``http_max_body_bytes`` answers 413
  before it is parsed: at once when ``Content-Length`` says so, else as soon as the bytes
  received (a chunked body) pass the limit. A body within the limit is handed on as it came.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buybutton.inputs import CARD_DATA_REFUSED
from buybutton.sensitive import looks_like_card_number


async def _answer(send: Send, status: int, content: dict[str, Any]) -> None:
    body = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def card_data_in_query(scope: Scope) -> list[str] | None:
    """Which query parameter holds card data, as a validation location, or None."""
    for name, value in QueryParams(scope.get("query_string", b"")).multi_items():
        if looks_like_card_number(name):
            return ["query", "<a name>"]
        if looks_like_card_number(value):
            return ["query", name]
    return None


class CardFreeQuery:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = card_data_in_query(scope) if scope["type"] == "http" else None
        if where is None:
            await self.app(scope, receive, send)
            return
        problem = {"loc": where, "msg": f"Value error, {CARD_DATA_REFUSED}", "type": "value_error"}
        await _answer(send, 422, {"detail": [problem]})


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_too_long(scope):
            await self._refuse(send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the app see it
                await self.app(scope, _replay(message, receive), send)
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": bytes(body), "more_body": False}
        await self.app(scope, _replay(whole, receive), send)

    def _declared_too_long(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                return not value.isdigit() or int(value) > self.max_bytes
        return False

    async def _refuse(self, send: Send) -> None:
        detail = f"the request body is longer than {self.max_bytes} bytes"
        await _answer(send, 413, {"detail": detail})


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive that answers ``first`` once, then whatever comes next (the disconnect)."""
    pending = [first]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
