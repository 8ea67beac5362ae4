"""Cutting a connection the way networks do, under uvicorn's h11 server.

ASGI gives an application no socket, so this reaches uvicorn's own: the ``send`` callable
uvicorn passes is a bound method of its request cycle, which holds the asyncio transport.
``reset`` reads the request to its end, sets SO_LINGER to zero and aborts (the client, waiting
for the answer, reads ECONNRESET); ``close_unanswered``
closes cleanly without a response (the client reads an unexpected end of stream). Served any
other way (an in-process test client), connection faults cannot be shown and say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from starlette.types import Receive, Send

DISCONNECT_WAIT_S = 2.0


class ConnectionFaultUnsupported(RuntimeError):
    """The server is not uvicorn's h11: there is no transport to cut."""


def transport_of(send: Send) -> asyncio.Transport:
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise ConnectionFaultUnsupported("connection faults need the fake served by uvicorn (http='h11')")
    return transport


async def reset(transport: asyncio.Transport, receive: Receive) -> None:
    """Reset once the whole request is in: a client still sending would take the reset as a
    failed send, and (urllib3 ignores those) read an ordinary end of stream instead."""
    while (message := await receive())["type"] == "http.request" and message.get("more_body", False):
        pass
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await wait_for_disconnect(receive, DISCONNECT_WAIT_S)


async def close_unanswered(transport: asyncio.Transport, receive: Receive) -> None:
    transport.close()
    await wait_for_disconnect(receive, DISCONNECT_WAIT_S)


async def wait_for_disconnect(receive: Receive, timeout_s: float) -> bool:
    """True once the client is gone; False if it is still there after ``timeout_s``."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), timeout_s)
    except TimeoutError:
        return False
    return True
