"""The HTTP routers merchant-relay's app includes, besides /healthz."""

from __future__ import annotations

from fastapi import APIRouter

from merchant_relay import api_endpoints, api_orders

ROUTERS: list[APIRouter] = [api_endpoints.router, api_orders.router]
