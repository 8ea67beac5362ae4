"""What every API operation takes and gives back.

An operation is a plain function ``(Call) -> Outcome`` run whole under the store's lock. It
raises ``StripeError`` to refuse a request before changing anything; otherwise it returns the
answer (status and body) and the events its changes caused, which the caller publishes once
the answer is final (so a refused or replayed request publishes nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from devstack.fake_stripe.errors import JSON
from devstack.fake_stripe.store import Account


@dataclass(frozen=True)
class Call:
    account: Account
    values: JSON
    object_id: str = ""
    base_url: str = ""
    stripe_account: str | None = None


@dataclass
class Outcome:
    body: JSON
    status: int = 200
    events: list[tuple[str, JSON]] = field(default_factory=list)

    def emit(self, event_type: str, obj: JSON) -> None:
        """Record that ``event_type`` happened to ``obj`` as it is now (a snapshot)."""
        self.events.append((event_type, copy.deepcopy(obj)))


Operation = Callable[[Call], Outcome]


def list_object(items: Iterable[JSON], url: str) -> JSON:
    data = [copy.deepcopy(item) for item in items]
    return {"object": "list", "data": data, "has_more": False, "url": url}
