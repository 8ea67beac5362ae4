"""What every service's HTTP side shares: the app skeleton with its health endpoint, token
verification, input errors that never echo the input, and the entry point that reads
settings, configures logging and serves.

``GET /healthz`` is the one endpoint that takes no credentials (load balancers and compose
health checks call it); it reveals only the service name, and answers 503 with the problem when
the service has set ``app.state.health_problem`` (a callable answering a problem or None) and it
names one. Every other endpoint declares who may call it with ``buybutton.auth.require``.

A request that fails validation answers 422 with, per problem, the field's location, a message
and a type, but never the submitted value (it may be a card number or an address).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from buybutton.auth import TokenVerifier
from buybutton.logging import configure_logging
from buybutton.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def validation_problems(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]


async def _answer_invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": validation_problems(error)})


def service_app(settings: ServiceSettings, **fastapi_options: Any) -> FastAPI:
    app = FastAPI(title=settings.service_name, **fastapi_options)
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, _answer_invalid_request)
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
