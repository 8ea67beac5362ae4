"""Every API request the fake received, for ``GET /_fake/requests``.

Kept per request: when, method, path, the endpoint it reached (ids replaced by ``{id}``),
secret key, idempotency key, answer status (``null`` when the connection was cut without
one), whether it was an idempotent replay, the fault injected and how long it took. The last
10 000 are kept; counts per endpoint cover every request since the last reset.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, deque

from devstack.fake_stripe.errors import JSON

REQUESTS_KEPT = 10_000
_OBJECT_ID = re.compile(r"/(?:cus|pm|pi|ch|re|evt|acct|src)_[A-Za-z0-9_]+")


def endpoint_of(method: str, path: str) -> str:
    return f"{method} {_OBJECT_ID.sub('/{id}', path)}"


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: deque[JSON] = deque(maxlen=REQUESTS_KEPT)
        self._counts: dict[str | None, Counter[str]] = {}
        self._replays: Counter[str | None] = Counter()

    def record(self, entry: JSON) -> None:
        with self._lock:
            self._recent.append(entry)
            self._counts.setdefault(entry["api_key"], Counter())[entry["endpoint"]] += 1
            self._replays[entry["api_key"]] += 1 if entry["replayed"] else 0

    def report(self, api_key: str | None = None, *, limit: int = 100) -> JSON:
        with self._lock:
            counts: Counter[str] = Counter()
            for owner, per_endpoint in self._counts.items():
                if api_key in (None, owner):
                    counts.update(per_endpoint)
            replayed = sum(n for owner, n in self._replays.items() if api_key in (None, owner))
            recent = [e for e in self._recent if api_key in (None, e["api_key"])]
        return {
            "total": sum(counts.values()),
            "by_endpoint": dict(sorted(counts.items())),
            "replayed": replayed,
            "recent": recent[-limit:] if limit else [],
        }

    def reset(self, api_key: str | None = None) -> None:
        with self._lock:
            if api_key is None:
                self._recent.clear()
                self._counts.clear()
                self._replays.clear()
                return
            kept = [e for e in self._recent if e["api_key"] != api_key]
            self._recent = deque(kept, maxlen=REQUESTS_KEPT)
            self._counts.pop(api_key, None)
            self._replays.pop(api_key, None)
