"""The order's life as a state machine, pure (no I/O): which states follow which, and how an
order event moves an order. The rule it keeps: no state ever goes backwards, whatever order
events arrive in (guarantee 6). Every transition goes to a later stage (``STAGE``), and an
event whose target is not a next state of the current one changes nothing.

held → confirming → requires_action → paid → forwarded → shipped → fulfilled; held, confirming
and requires_action may end in failed or cancelled; paid and later in refunded. failed,
cancelled and refunded are final. A paid order may go straight to shipped or fulfilled: the
merchant's report can reach checkout before the relay's OrderForwarded (that late event then
changes nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

OrderState = Literal[
    "held",
    "confirming",
    "requires_action",
    "paid",
    "forwarded",
    "shipped",
    "fulfilled",
    "failed",
    "cancelled",
    "refunded",
]
STATES: tuple[OrderState, ...] = get_args(OrderState)
FINAL: frozenset[OrderState] = frozenset({"failed", "cancelled", "refunded"})
STAGE: Mapping[OrderState, int] = {
    "held": 0,
    "confirming": 1,
    "requires_action": 2,
    "paid": 3,
    "forwarded": 4,
    "shipped": 5,
    "fulfilled": 6,
    "failed": 7,
    "cancelled": 7,
    "refunded": 7,
}
TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = {
    "held": frozenset({"confirming", "failed", "cancelled"}),
    "confirming": frozenset({"requires_action", "paid", "failed", "cancelled"}),
    "requires_action": frozenset({"paid", "failed", "cancelled"}),
    # a merchant's report may overtake the relay's OrderForwarded: shipped or fulfilled skip it
    "paid": frozenset({"forwarded", "shipped", "fulfilled", "refunded"}),
    "forwarded": frozenset({"shipped", "fulfilled", "refunded"}),
    "shipped": frozenset({"fulfilled", "refunded"}),
    "fulfilled": frozenset({"refunded"}),
    "failed": frozenset(),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}
EVENT_TARGETS: Mapping[str, OrderState] = {
    "BuyClicked": "held",
    "PaymentCaptured": "paid",
    "PaymentFailed": "failed",
    "OrderCancelled": "cancelled",
    "PaymentRefunded": "refunded",
    "OrderForwarded": "forwarded",
    "OrderShipped": "shipped",
    "OrderFulfilled": "fulfilled",
}


class IllegalTransition(ValueError):
    """A move the table does not allow (backwards, sideways, or out of a final state)."""


def may_move(current: OrderState, target: OrderState) -> bool:
    return target in TRANSITIONS[current]


def move(current: OrderState, target: OrderState) -> OrderState:
    """``target`` when the table allows it; IllegalTransition otherwise (commands use this)."""
    if not may_move(current, target):
        raise IllegalTransition(f"an order cannot go from {current} to {target}")
    return target


def after_event(current: OrderState, event_type: str) -> OrderState:
    """The state after an order event; a late, repeated or unknown event changes nothing."""
    target = EVENT_TARGETS.get(event_type)
    return target if target is not None and may_move(current, target) else current
