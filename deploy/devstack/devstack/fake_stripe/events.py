"""Events: what happened to an object, as Stripe's event objects, and the events API.

Each change an operation reports becomes ``{"id": "evt_...", "object": "event", "type",
"data": {"object": <snapshot>}, "created", "api_version", "livemode", "pending_webhooks",
"request": {"id", "idempotency_key"}}``, is kept in the account (``GET /v1/events``) and is
handed to the webhook dispatcher. A replayed request caused nothing, so it publishes nothing.
"""

from __future__ import annotations

from devstack.fake_stripe.errors import JSON
from devstack.fake_stripe.forms import Params
from devstack.fake_stripe.ids import new_id, now
from devstack.fake_stripe.operations import Call, Outcome, list_object

DEFAULT_API_VERSION = "2026-10-28.endive"


def build_event(
    event_type: str, obj: JSON, *, request_id: str | None, idempotency_key: str | None, api_version: str
) -> JSON:
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": now(),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


def retrieve(call: Call) -> Outcome:
    Params(call.values, ())
    return Outcome(call.account.get(call.account.events, "event", call.object_id))


def list_events(call: Call) -> Outcome:
    params = Params(call.values, ("type", "limit"))
    wanted, limit = params.text("type"), params.integer("limit", minimum=1) or 10
    matching = [e for e in reversed(call.account.events.values()) if wanted in (None, e["type"])]
    page = list_object(matching[:limit], "/v1/events")
    page["has_more"] = len(matching) > limit
    return Outcome(page)
