"""OrderForwarded once per order: when the worker records the first channel of a paid order, and
also when the merchant reported on the order (shipped, fulfilled) before that was recorded (its
state kept); never again for a later channel, nor for an order the merchant was not told of."""

from __future__ import annotations

from typing import Any

import pytest

from buybutton.events import OrderForwarded
from buybutton.unit_of_work import Aggregate
from merchant_relay.relay_orders import forwarded

PUDDLE = "merchant-puddle-and-co"


def order(state: str, channels: list[str]) -> Aggregate:
    document: dict[str, Any] = {"merchant_id": PUDDLE, "state": state, "channels": channels}
    return Aggregate("order-raincoat-1", document, version=3)


@pytest.mark.parametrize(
    ("state", "after"), [("paid", "forwarded"), ("shipped", "shipped"), ("fulfilled", "fulfilled")]
)
def test_the_first_channel_forwards_the_order_once(state: str, after: str) -> None:
    change = forwarded(["webhook"])(order(state, []))
    assert change is not None
    assert change.state["state"] == after and change.state["channels"] == ["webhook"]
    assert [type(e) for e in change.events] == [OrderForwarded]
    assert change.events[0].merchant_id == PUDDLE
    later = forwarded(["topic"])(order(after, ["webhook"]))
    assert later is not None and list(later.events) == [] and later.state["channels"] == ["topic", "webhook"]
    assert later.state["state"] == after


@pytest.mark.parametrize("state", ["clicked", "cancelled"])
def test_an_order_the_merchant_was_not_told_of_is_not_forwarded(state: str) -> None:
    change = forwarded(["webhook"])(order(state, []))
    assert change is None or list(change.events) == []
