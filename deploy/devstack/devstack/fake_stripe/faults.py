"""Faults armed through ``POST /_fake/faults`` and the record of each one injected.

A fault has a class, a path pattern (shell-style, ``/v1/payment_intents*``), optionally a
method and a secret key it is limited to, and a count of requests it hits (``null``: every
matching request until cleared). Classes:

- ``timeout_after_success``: the request is executed (and its answer saved under its
  idempotency key), then the answer is held for ``hold_ms`` and the connection closed
  without it; a client with a shorter timeout sees a timeout, one with a longer one an
  unanswered close. Either way the charge exists, and a retry with the same key replays it.
- ``http_500``: answered 500 ``api_error`` before execution; nothing done, nothing saved.
- ``http_429``: answered 429 ``rate_limit`` with ``Retry-After: <retry_after_s>`` before
  execution; nothing done.
- ``connection_reset``: the TCP connection is reset (RST) before execution; nothing done.
- ``delay_ms``: the request waits ``delay_ms`` once it holds its idempotency key, then
  executes normally (latency for benchmarks; concurrent duplicates meet the 409 meanwhile).

The first armed fault that matches a request takes it, and uses up one of its count.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from devstack.fake_stripe.errors import JSON
from devstack.fake_stripe.ids import new_id

FaultKind = Literal["timeout_after_success", "http_500", "http_429", "connection_reset", "delay_ms"]
INJECTIONS_KEPT = 10_000


class FaultSpec(BaseModel):
    kind: FaultKind
    path: str = "/v1/*"
    method: str | None = None
    api_key: str | None = None
    count: int | None = Field(default=1, ge=1)
    hold_ms: int = Field(default=5000, ge=0, le=600_000)
    retry_after_s: int = Field(default=1, ge=0, le=3600)
    delay_ms: int = Field(default=0, ge=0, le=600_000)


class Fault(FaultSpec):
    id: str
    armed_at: float
    injected: int = 0

    def matches(self, method: str, path: str, api_key: str | None) -> bool:
        return (
            (self.method is None or self.method.upper() == method)
            and (self.api_key is None or self.api_key == api_key)
            and fnmatch.fnmatchcase(path, self.path)
        )


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []
        self._injections: list[JSON] = []

    def arm(self, spec: FaultSpec) -> Fault:
        fault = Fault(**spec.model_dump(), id=new_id("fault"), armed_at=time.time())
        with self._lock:
            self._armed.append(fault)
        return fault

    def take(self, method: str, path: str, api_key: str | None, idempotency_key: str | None) -> Fault | None:
        """The fault this request meets, if any; it is counted as injected."""
        with self._lock:
            fault = next((f for f in self._armed if f.matches(method, path, api_key)), None)
            if fault is None:
                return None
            fault.injected += 1
            if fault.count is not None and fault.injected >= fault.count:
                self._armed.remove(fault)
            self._injections.append(
                {
                    "fault_id": fault.id,
                    "kind": fault.kind,
                    "method": method,
                    "path": path,
                    "api_key": api_key,
                    "idempotency_key": idempotency_key,
                    "at": time.time(),
                }
            )
            del self._injections[:-INJECTIONS_KEPT]
            return fault.model_copy()

    def report(self, api_key: str | None = None) -> JSON:
        with self._lock:
            armed = [f.model_dump() for f in self._armed if api_key in (None, f.api_key)]
            injected = [i for i in self._injections if api_key in (None, i["api_key"])]
        return {
            "armed": armed,
            "injected": injected,
            "injected_by_kind": dict(Counter(i["kind"] for i in injected)),
        }

    def clear(self, api_key: str | None = None) -> None:
        with self._lock:
            self._armed = [f for f in self._armed if api_key is not None and f.api_key != api_key]
            self._injections = [
                i for i in self._injections if api_key is not None and i["api_key"] != api_key
            ]
