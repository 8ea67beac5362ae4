"""The Stripe API subset checkout uses, under ``/v1``: the routing table and the one pipeline
every request goes through.

Pipeline: the secret key (401 without a test key), the parameters (form body or query
string), the idempotency key for a POST (replay, refuse, or claim it), any injected delay,
the operation run whole under the store's lock, the answer saved under the key, then the
events it caused published. An unknown URL is Stripe's 404.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from devstack.fake_stripe import (
    charges,
    customers,
    events,
    payment_intents,
    payment_methods,
    refunds,
)
from devstack.fake_stripe.auth import require_test_key
from devstack.fake_stripe.errors import StripeError, api_error, invalid_request
from devstack.fake_stripe.forms import decode_form
from devstack.fake_stripe.idempotency import SavedAnswer
from devstack.fake_stripe.ids import new_id
from devstack.fake_stripe.operations import Call, Operation
from devstack.fake_stripe.responses import encode, error_response, json_response
from devstack.fake_stripe.state import FakeState
from devstack.fake_stripe.wire import DELAY_STATE_KEY

log = logging.getLogger("fake_stripe")

ROUTES: list[tuple[str, str, Operation]] = [
    ("POST", "/v1/customers", customers.create),
    ("GET", "/v1/customers/{id}", customers.retrieve),
    ("POST", "/v1/customers/{id}", customers.update),
    ("DELETE", "/v1/customers/{id}", customers.delete),
    ("GET", "/v1/customers/{id}/payment_methods", payment_methods.list_for_customer),
    ("GET", "/v1/payment_methods", payment_methods.list_for_customer),
    ("GET", "/v1/payment_methods/{id}", payment_methods.retrieve),
    ("POST", "/v1/payment_methods/{id}/attach", payment_methods.attach),
    ("POST", "/v1/payment_methods/{id}/detach", payment_methods.detach),
    ("POST", "/v1/payment_intents", payment_intents.create),
    ("GET", "/v1/payment_intents/{id}", payment_intents.retrieve),
    ("POST", "/v1/payment_intents/{id}/confirm", payment_intents.confirm),
    ("POST", "/v1/payment_intents/{id}/cancel", payment_intents.cancel),
    ("GET", "/v1/charges/{id}", charges.retrieve),
    ("POST", "/v1/refunds", refunds.create),
    ("GET", "/v1/refunds/{id}", refunds.retrieve),
    ("GET", "/v1/events", events.list_events),
    ("GET", "/v1/events/{id}", events.retrieve),
    ("GET", "/v1/balance", charges.balance),
]


def api_routes(fake: FakeState) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route(path, _endpoint(fake, operation), methods=[method]) for method, path, operation in ROUTES
    ]
    routes.append(Route("/v1/{rest:path}", _unrecognized, methods=["GET", "POST", "DELETE"]))
    return routes


def _base_headers(request: Request, request_id: str, idempotency_key: str | None) -> dict[str, str]:
    headers = {
        "Request-Id": request_id,
        "Stripe-Version": request.headers.get("stripe-version") or events.DEFAULT_API_VERSION,
    }
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _endpoint(fake: FakeState, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        request_id = new_id("req")
        idempotency_key = request.headers.get("idempotency-key") if request.method == "POST" else None
        headers = _base_headers(request, request_id, idempotency_key)
        try:
            api_key = require_test_key(request.headers)
            values = decode_form(await request.body() if request.method == "POST" else request.url.query)
            call = Call(
                account=fake.store.account(api_key),
                values=values,
                object_id=request.path_params.get("id", ""),
                base_url=str(request.base_url),
                stripe_account=request.headers.get("stripe-account"),
            )
            return await _execute(fake, operation, call, request, headers, idempotency_key)
        except StripeError as error:
            return error_response(error, headers)

    return endpoint


async def _execute(
    fake: FakeState,
    operation: Operation,
    call: Call,
    request: Request,
    headers: dict[str, str],
    key: str | None,
) -> Response:
    api_key = call.account.api_key
    if key:
        saved = fake.idempotency.claim(api_key, key, f"{request.method} {request.url.path}", call.values)
        if saved is not None:
            replay = {**headers, "Idempotent-Replayed": "true", "Original-Request": saved.request_id}
            return json_response(saved.status, saved.body, replay)
    try:
        delay_s = request.scope.get("state", {}).get(DELAY_STATE_KEY)
        if delay_s:
            await asyncio.sleep(delay_s)
        with fake.store.lock:
            outcome = operation(call)
            body = encode(outcome.body)
    except StripeError:
        if key:
            fake.idempotency.release(api_key, key)
        raise
    except Exception as problem:
        if key:
            fake.idempotency.release(api_key, key)
        log.exception("operation failed")
        raise api_error(f"The fake failed: {type(problem).__name__}: {problem}") from problem
    if key:
        fake.idempotency.save(api_key, key, SavedAnswer(outcome.status, body, headers["Request-Id"]))
    fake.publish(
        call.account,
        outcome.events,
        request_id=headers["Request-Id"],
        idempotency_key=key,
        api_version=headers["Stripe-Version"],
    )
    return json_response(outcome.status, body, headers)


async def _unrecognized(request: Request) -> Response:
    error = invalid_request(f"Unrecognized request URL ({request.method}: {request.url.path}).")
    error.status = 404
    return error_response(error, {"Request-Id": new_id("req")})
