"""What every service's HTTP side shares: the app skeleton with its health endpoint, token
verification, input errors that never echo the input, and the entry point that reads
settings, configures logging and serves.

``GET /healthz`` is the one endpoint that takes no credentials (load balancers and compose
health checks call it); it reveals only the service name, and answers 503 with the problem when
the service has set ``app.state.health_problem`` (a callable answering a problem or None) and it
names one. Every other endpoint declares who may call it with ``buybutton.auth.require``.

A request that fails validation answers 422 with, per problem, the field's location, a message
and a type, but never the submitted value (it may be a card number or an address). A request
that meets an outage (the database or the broker away or too slow: buybutton.faults) answers 503
with ``Retry-After``, naming only the error's class; nothing it asked for is half done, since
every change is one write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import structlog
import uvicorn
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from buybutton.auth import TokenVerifier
from buybutton.faults import TransientFailure, is_transient
from buybutton.logging import configure_logging
from buybutton.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    PyMongoError,
    KafkaError,
    TransientFailure,
    TimeoutError,
    ConnectionError,
)
RETRY_AFTER_S = 1
log = structlog.get_logger(__name__)


def validation_problems(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]


async def _answer_invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": validation_problems(error)})


async def _answer_outage(_: Request, error: Exception) -> JSONResponse:
    if not is_transient(error):
        log.error("request failed", error_class=type(error).__name__)
        return JSONResponse(status_code=500, content={"detail": "internal error"})
    log.warning("request met an outage", error_class=type(error).__name__)
    return JSONResponse(
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
        content={"detail": "temporarily unavailable; try again shortly", "error": type(error).__name__},
    )


def service_app(settings: ServiceSettings, **fastapi_options: Any) -> FastAPI:
    app = FastAPI(title=settings.service_name, **fastapi_options)
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, _answer_invalid_request)
    for outage in OUTAGE_ERRORS:
        app.add_exception_handler(outage, _answer_outage)
    if settings.auth_public_key:
        app.state.token_verifier = TokenVerifier(
            settings.auth_public_key, audience=settings.service_name, issuer=settings.auth_issuer
        )

    @app.get("/healthz", tags=["operations"], summary="Liveness; public", response_model=None)
    async def healthz(request: Request) -> dict[str, str] | JSONResponse:
        check: Callable[[], str | None] | None = getattr(request.app.state, "health_problem", None)
        problem = check() if check else None
        if problem:
            content = {"service": settings.service_name, "status": "failing", "problem": problem}
            return JSONResponse(status_code=503, content=content)
        return {"service": settings.service_name, "status": "ok"}

    return app


def serve(settings_type: type[SettingsT], create_app: Callable[[SettingsT], FastAPI]) -> None:
    """Entry point of a service: settings from the environment (fail fast), logging, HTTP."""
    settings = settings_type()
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )
