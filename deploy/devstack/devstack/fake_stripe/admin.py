"""The fake's own controls under ``/_fake/``: no Stripe key needed, loopback callers only.

- ``GET /_fake/health``: ``{"service": "fake-stripe", "ok": true}``
- ``GET /_fake/charges``, ``GET /_fake/requests?limit=N``: counters (counters.py, request_log.py)
- ``POST /_fake/faults`` (a FaultSpec as JSON), ``GET /_fake/faults``, ``DELETE /_fake/faults``
- ``PUT /_fake/webhook`` ``{"url", "secret", "enabled_events"?, "max_attempts"?, "backoff_s"?}``,
  ``GET /_fake/webhook`` (endpoint and deliveries), ``DELETE /_fake/webhook``
- ``POST /_fake/payment_intents/{id}/authenticate`` ``{"outcome": "succeed" | "fail"}``: the
  buyer's answer to 3-D Secure; ``GET /_fake/3ds/{id}`` is the same as a page for a person
- ``POST /_fake/reset``: forget everything (restarting the fake does the same)

Every call takes ``?api_key=sk_test_...`` to act on that key's account alone (a fault armed
with it hits only that key's requests); without it, on all of them.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from devstack.fake_stripe.confirmation import complete_authentication
from devstack.fake_stripe.counters import charges_report
from devstack.fake_stripe.errors import StripeError
from devstack.fake_stripe.events import DEFAULT_API_VERSION
from devstack.fake_stripe.faults import FaultSpec
from devstack.fake_stripe.forms import decode_form
from devstack.fake_stripe.state import FakeState
from devstack.fake_stripe.webhooks import WebhookEndpoint

LOOPBACK = ("127.0.0.1", "::1", "localhost", "testclient")
Handler = Callable[[Request], Awaitable[Response]]


class WebhookSpec(BaseModel):
    url: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    enabled_events: tuple[str, ...] = ("*",)
    max_attempts: int = Field(default=5, ge=1, le=100)
    backoff_s: float = Field(default=0.5, gt=0, le=3600)
    timeout_s: float = Field(default=10.0, gt=0, le=300)


def _loopback_only(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        host = request.client.host if request.client else ""
        if host not in LOOPBACK and not host.startswith("127."):
            return JSONResponse({"error": "the fake's admin API answers loopback callers only"}, 403)
        return await handler(request)

    return guarded


def admin_routes(fake: FakeState) -> list[BaseRoute]:
    def key(request: Request) -> str | None:
        return request.query_params.get("api_key") or None

    async def health(request: Request) -> Response:
        return JSONResponse({"service": "fake-stripe", "ok": True})

    async def charges(request: Request) -> Response:
        with fake.store.lock:
            return JSONResponse(charges_report(fake.store.accounts(key(request))))

    async def requests(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "100"))
        return JSONResponse(fake.requests.report(key(request), limit=limit))

    async def reset(request: Request) -> Response:
        fake.reset(key(request))
        return JSONResponse({"reset": key(request) or "everything"})

    async def arm_fault(request: Request) -> Response:
        try:
            spec = FaultSpec.model_validate({"api_key": key(request), **(await request.json())})
        except (ValidationError, ValueError) as problem:
            return JSONResponse({"error": str(problem)}, 422)
        return JSONResponse(fake.faults.arm(spec).model_dump(), 201)

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            fake.faults.clear(key(request))
        return JSONResponse(fake.faults.report(key(request)))

    async def webhook(request: Request) -> Response:
        if request.method == "PUT":
            try:
                spec = WebhookSpec.model_validate(await request.json())
            except (ValidationError, ValueError) as problem:
                return JSONResponse({"error": str(problem)}, 422)
            fake.webhooks.configure(WebhookEndpoint(**spec.model_dump()), key(request))
        elif request.method == "DELETE":
            fake.webhooks.configure(None, key(request))
        return JSONResponse(fake.webhooks.report(key(request)))

    async def authenticate(request: Request) -> Response:
        outcome = (await request.json()).get("outcome", "succeed")
        return _authenticate(fake, request, outcome == "succeed")

    async def challenge_page(request: Request) -> Response:
        if request.method == "GET":
            return HTMLResponse(_page(request.path_params["id"]))
        outcome = decode_form(await request.body()).get("outcome", "succeed")
        return _authenticate(fake, request, outcome == "succeed", redirect=True)

    plain: list[tuple[str, Handler, list[str]]] = [
        ("/_fake/health", health, ["GET"]),
        ("/_fake/charges", charges, ["GET"]),
        ("/_fake/requests", requests, ["GET"]),
        ("/_fake/reset", reset, ["POST"]),
        ("/_fake/faults", arm_fault, ["POST"]),
        ("/_fake/faults", faults, ["GET", "DELETE"]),
        ("/_fake/webhook", webhook, ["GET", "PUT", "DELETE"]),
        ("/_fake/payment_intents/{id}/authenticate", authenticate, ["POST"]),
        ("/_fake/3ds/{id}", challenge_page, ["GET", "POST"]),
    ]
    return [Route(path, _loopback_only(handler), methods=methods) for path, handler, methods in plain]


def _authenticate(fake: FakeState, request: Request, succeeded: bool, *, redirect: bool = False) -> Response:
    intent_id = request.path_params["id"]
    account = fake.store.owner_of_payment_intent(intent_id)
    if account is None:
        return JSONResponse({"error": f"No such payment_intent: '{intent_id}'"}, 404)
    with fake.store.lock:
        intent = account.payment_intents[intent_id]
        return_url = ((intent["next_action"] or {}).get("redirect_to_url") or {}).get("return_url")
        try:
            outcome = complete_authentication(
                account, intent, succeeded=succeeded, base_url=str(request.base_url)
            )
        except StripeError as error:
            return JSONResponse(error.body(), error.status)
        answer = copy.deepcopy(outcome.body)
    fake.publish(
        account, outcome.events, request_id=None, idempotency_key=None, api_version=DEFAULT_API_VERSION
    )
    if redirect and return_url:
        query = urlencode(
            {
                "payment_intent": intent_id,
                "payment_intent_client_secret": answer["client_secret"],
                "redirect_status": "succeeded" if succeeded else "failed",
            }
        )
        separator = "&" if "?" in return_url else "?"
        return RedirectResponse(f"{return_url}{separator}{query}", 303)
    if redirect:
        return HTMLResponse(f"<p>{html.escape(intent_id)} is now {html.escape(answer['status'])}.</p>")
    return JSONResponse(answer)


def _page(intent_id: str) -> str:
    name = html.escape(intent_id)
    buttons = "".join(
        f'<button name="outcome" value="{value}">{label}</button> '
        for value, label in (("succeed", "Complete authentication"), ("fail", "Fail authentication"))
    )
    return (
        f"<!doctype html><title>3-D Secure (fake)</title><h1>3-D Secure for {name}</h1>"
        f'<form method="post" action="/_fake/3ds/{name}">{buttons}</form>'
    )
