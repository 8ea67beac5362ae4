"""Every router merchant-relay serves besides /healthz; app.py includes each of ``ROUTERS``: the
merchant API (endpoint and secrets, orders and reports, its statistics) and the admins' delivery
statistics."""

from __future__ import annotations

from fastapi import APIRouter

from merchant_relay import api_endpoints, api_orders, api_stats, delivery_stats

ROUTERS: list[APIRouter] = [api_endpoints.router, api_orders.router, api_stats.router, delivery_stats.router]
