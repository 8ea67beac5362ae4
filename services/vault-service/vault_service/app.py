"""Builds vault-service's HTTP app from its settings (nothing is built at import time)."""

from __future__ import annotations

from fastapi import FastAPI

from buybutton.service import service_app
from vault_service.config import Settings


def create_app(settings: Settings) -> FastAPI:
    return service_app(settings)
