"""What every service's HTTP side shares: the app skeleton with its health endpoint, token
verification, input errors that never echo the input, and the entry point that reads
settings, configures logging and serves.

``GET /healthz`` is the one endpoint that takes no credentials (load balancers and compose
health checks call it); it reveals only the service name, and answers 503 with the problem when
the service has set ``app.state.health_problem`` (a callable answering a problem or None) and it
names one. Every other endpoint declares who may call it with ``buybutton.auth.require``.

A request that fails validation answers 422 with, per problem, the field's location, a message
and a type, but never the submitted value (it may be a card number or an address). Before any
route: card data in a query parameter answers 422, and a body longer than
``http_max_body_bytes`` 413 unread (``buybutton.request_guards``). A request that meets an
outage (the database or the broker away or too slow: buybutton.faults) answers 503 with
``Retry-After``, naming only the error's class; nothing it asked for is half done, since every
change is one write.

A service whose settings do not validate (``ENVIRONMENT`` missing, say) refuses to start with
one line on stderr naming each variable and its problem, never its value.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
import uvicorn
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from pymongo.errors import PyMongoError

from buybutton.auth import TokenVerifier
from buybutton.faults import TransientFailure, is_transient
from buybutton.inputs import location_part
from buybutton.logging import configure_logging
from buybutton.request_guards import BodySizeLimit, CardFreeQuery
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
    """Each problem's location (mapping keys as ``location_part`` shows them), message, type."""
    return [
        {
            "loc": [part if isinstance(part, int) else location_part(part) for part in item.get("loc", ())],
            "msg": item.get("msg", ""),
            "type": item.get("type", ""),
        }
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


def settings_problems(settings_type: type[ServiceSettings], error: ValidationError) -> str:
    """Each setting's problem on one line, named by its variable (``ENVIRONMENT: Field required``,
    ``VAULT_MASTER_KEYS: ...``), never with its value."""
    prefix = str(settings_type.model_config.get("env_prefix", ""))
    problems = []
    for item in error.errors():
        where = str(item["loc"][0]) if item["loc"] else ""
        variable = f"{prefix}{where}" if where in settings_type.model_fields else where
        problems.append(f"{variable.upper()}: {item['msg']}" if variable else item["msg"])
    return "; ".join(problems)


def service_app(settings: ServiceSettings, **fastapi_options: Any) -> FastAPI:
    app = FastAPI(title=settings.service_name, **fastapi_options)
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, _answer_invalid_request)
    for outage in OUTAGE_ERRORS:
        app.add_exception_handler(outage, _answer_outage)
    app.add_middleware(BodySizeLimit, max_bytes=settings.http_max_body_bytes)
    app.add_middleware(CardFreeQuery)  # added last, so it runs first: before the body is read
    if settings.auth_public_key:
        app.state.token_verifier = TokenVerifier(
            settings.auth_public_key,
            audience=settings.service_name,
            issuer=settings.auth_issuer,
            max_lifetime_s=settings.auth_max_token_lifetime_s,
            trusted=settings.trusted_issuers,
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


def freeze_what_start_up_built() -> None:
    """Move every object alive now (modules, the app, its routes and models) out of the garbage
    collector's reach: they live as long as the process, and each full collection would walk
    them again (measured on tweet-service under load: six full collections of about 36 ms in
    2 200 timeline requests, 0.1 ms a request). Collect first, so no garbage is kept for ever."""
    gc.collect()
    gc.freeze()


def serve(settings_type: type[SettingsT], create_app: Callable[[SettingsT], FastAPI]) -> None:
    """Entry point of a service: settings from the environment (fail fast), logging, HTTP."""
    try:
        settings = settings_type()
    except ValidationError as error:
        name = settings_type.model_fields["service_name"].default
        sys.exit(f"{name} refuses to start: {settings_problems(settings_type, error)}")
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    app = create_app(settings)
    freeze_what_start_up_built()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )
