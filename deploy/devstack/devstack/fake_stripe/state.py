"""Everything one running fake holds, in one place, and the two things done across it:
publishing the events an operation caused, and forgetting (all of it, or one secret key's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from devstack.fake_stripe.errors import JSON
from devstack.fake_stripe.events import build_event
from devstack.fake_stripe.faults import FaultBook
from devstack.fake_stripe.idempotency import IdempotencyKeys
from devstack.fake_stripe.request_log import RequestLog
from devstack.fake_stripe.store import Account, Store
from devstack.fake_stripe.webhooks import WebhookDispatcher


@dataclass
class FakeState:
    webhooks: WebhookDispatcher
    store: Store = field(default_factory=Store)
    idempotency: IdempotencyKeys = field(default_factory=IdempotencyKeys)
    faults: FaultBook = field(default_factory=FaultBook)
    requests: RequestLog = field(default_factory=RequestLog)

    def publish(
        self,
        account: Account,
        changes: list[tuple[str, JSON]],
        *,
        request_id: str | None,
        idempotency_key: str | None,
        api_version: str,
    ) -> None:
        for event_type, obj in changes:
            event = build_event(
                event_type,
                obj,
                request_id=request_id,
                idempotency_key=idempotency_key,
                api_version=api_version,
            )
            endpoint = self.webhooks.endpoint_for(account.api_key)
            event["pending_webhooks"] = 1 if endpoint is not None and endpoint.wants(event_type) else 0
            with self.store.lock:
                account.events[event["id"]] = event
            self.webhooks.submit(account.api_key, event)

    def reset(self, api_key: str | None = None) -> None:
        """Forget objects, idempotency keys, faults, requests and webhook deliveries (and a key's
        own webhook endpoint); the default endpoint given at start stays."""
        self.store.reset(api_key)
        self.idempotency.reset(api_key)
        self.faults.clear(api_key)
        self.requests.reset(api_key)
        self.webhooks.reset(api_key)
