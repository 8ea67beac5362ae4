"""What every service's HTTP side shares: the app skeleton with its health endpoint, and the
entry point that reads settings, configures logging and serves.

``GET /healthz`` is the one endpoint that takes no credentials (load balancers and compose
health checks call it); it reveals only the service name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from buybutton.logging import configure_logging
from buybutton.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def service_app(settings: ServiceSettings, **fastapi_options: Any) -> FastAPI:
    app = FastAPI(title=settings.service_name, **fastapi_options)
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"], summary="Liveness; public")
    async def healthz() -> dict[str, str]:
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
