"""One platform service calling another over HTTP: the caller's service token on every request
(``auth_header(audience)``, e.g. ``ServiceTokens.header``), one connection pool, and the one rule
for what a failed call means. The callee away (no connection, a timeout), answering 5xx, or
answering one of the statuses the caller names as "not now" raises the caller's transient
failure, so a consume loop retries the record; any other answer is the caller's to read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from buybutton.faults import TransientFailure

AuthHeader = Callable[[str], Mapping[str, str]]


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        auth_header: AuthHeader,
        *,
        audience: str,
        timeout_s: float,
        unavailable: type[TransientFailure],
        not_now: frozenset[int] = frozenset({429}),
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._auth_header = auth_header
        self.audience = audience
        self._unavailable = unavailable
        self._not_now = not_now

    async def start(self) -> None:
        """Nothing to open ahead: connections are made on the first call."""

    async def stop(self) -> None:
        await self._http.aclose()

    async def call(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, path, json=json, params=params, headers=dict(self._auth_header(self.audience))
            )
        except httpx.HTTPError as error:
            raise self._unavailable(f"{self.audience} unreachable: {type(error).__name__}") from None
        if response.status_code >= 500 or response.status_code in self._not_now:
            raise self._unavailable(f"{self.audience} answered {response.status_code}")
        return response
