"""A request that meets an outage (database or broker away, a dependency timing out) answers 503
with Retry-After and only the error's class; any other failure answers a bare 500. Neither
echoes the error's message, which may carry a value."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pymongo.errors import NetworkTimeout, OperationFailure, ServerSelectionTimeoutError

from buybutton.faults import TransientFailure
from buybutton.service import service_app
from buybutton.settings import ServiceSettings

SECRET = "4242424242424242"


def app_raising(error: Exception) -> FastAPI:
    app = service_app(
        ServiceSettings(
            environment="test", kafka_bootstrap_servers="127.0.0.1:1", mongodb_url="mongodb://127.0.0.1:1/"
        )
    )

    @app.get("/fails")
    async def fails() -> None:
        raise error

    return app


@pytest.mark.parametrize(
    "error",
    [
        ServerSelectionTimeoutError(f"no server for {SECRET}"),
        NetworkTimeout(SECRET),
        TransientFailure(SECRET),
        TimeoutError(SECRET),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_outage_answers_503_with_retry_after(error: Exception) -> None:
    response = TestClient(app_raising(error), raise_server_exceptions=False).get("/fails")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"] == type(error).__name__
    assert SECRET not in response.text


def test_any_other_database_failure_answers_a_bare_500() -> None:
    response = TestClient(app_raising(OperationFailure(SECRET)), raise_server_exceptions=False).get("/fails")
    assert response.status_code == 500
    assert SECRET not in response.text
