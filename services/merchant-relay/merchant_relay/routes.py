"""Every router merchant-relay serves besides /healthz; app.py includes each of ``ROUTERS``."""

from __future__ import annotations

from fastapi import APIRouter

from merchant_relay import delivery_stats

ROUTERS: list[APIRouter] = [delivery_stats.router]
