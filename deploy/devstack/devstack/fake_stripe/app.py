"""``create_app``: a fake Stripe server built from its settings, nothing at import time.

The result is an ASGI app: the ``/v1`` API and the ``/_fake`` admin routes (Starlette), inside
the wire middleware that logs requests and injects faults. Its lifespan starts and stops the
webhook dispatcher's HTTP client. ``app.fake`` is its state, for in-process use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from devstack.fake_stripe.admin import admin_routes
from devstack.fake_stripe.api import api_routes
from devstack.fake_stripe.settings import FakeStripeSettings
from devstack.fake_stripe.state import FakeState
from devstack.fake_stripe.webhooks import WebhookDispatcher, WebhookEndpoint
from devstack.fake_stripe.wire import Wire


class FakeStripeApp(Wire):
    def __init__(self, fake: FakeState, app: Starlette) -> None:
        super().__init__(app, fake.faults, fake.requests)
        self.fake = fake


def create_app(settings: FakeStripeSettings | None = None) -> FakeStripeApp:
    settings = settings or FakeStripeSettings()
    default = None
    if settings.webhook_url:
        default = WebhookEndpoint(
            url=settings.webhook_url,
            secret=settings.webhook_secret,
            max_attempts=settings.webhook_max_attempts,
            backoff_s=settings.webhook_backoff_s,
        )
    fake = FakeState(webhooks=WebhookDispatcher(default))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await fake.webhooks.start()
        try:
            yield
        finally:
            await fake.webhooks.stop()

    return FakeStripeApp(fake, Starlette(routes=[*admin_routes(fake), *api_routes(fake)], lifespan=lifespan))
