"""checkout following merchant-relay's reports, over the in-memory store: forwarded, shipped
and fulfilled in any order and repeated never move an order backwards (hypothesis), the
shipment and the download are kept once and shown to the buyer, a refunded order stays
refunded but still shows where its parcel is, and a report for another merchant, for an order
never paid, or for an unknown order changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from buybutton.events import OrderForwarded, OrderFulfilled, OrderShipped
from buybutton.money import Money
from buybutton.unit_of_work import Change, InMemoryAggregateStore
from checkout_service.merchant_progress import RelayReport, apply_report
from checkout_service.order_states import STAGE
from checkout_service.views import order_view

PUDDLE = "merchant-puddle-co"
ORDER = "order-raincoat-1"
LINK = "https://files.puddle.example/d/pattern.pdf"


def paid_order(state: str = "paid") -> dict[str, Any]:
    price = Money(amount_minor=4_999, currency="USD").model_dump()
    return {
        "state": state,
        "buyer_id": "buyer-ada",
        "tweet_id": "tweet-puddle-raincoat",
        "merchant_id": PUDDLE,
        "product_id": "product-raincoat",
        "variant_id": "raincoat-m",
        "quantity": 1,
        "unit_price": price,
        "amount": price,
        "hold_expires_at": datetime(2026, 12, 1, 9, 10, tzinfo=UTC),
        "created_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    }


def report(kind: str, merchant_id: str = PUDDLE, order_id: str = ORDER) -> RelayReport:
    common = {
        "order_id": order_id,
        "correlation_id": order_id,
        "producer": "merchant-relay",
        "merchant_id": merchant_id,
    }
    if kind == "forwarded":
        return OrderForwarded(**common, channels=["webhook"])
    if kind == "shipped":
        return OrderShipped(**common, carrier="UPS", tracking_number="1Z999AA10123456784")
    return OrderFulfilled(**common, delivery_reference="dl_3f2a", download_link=LINK)


def store_with(state: str = "paid") -> InMemoryAggregateStore:
    store = InMemoryAggregateStore()
    store.apply(ORDER, lambda _: Change(paid_order(state)))
    return store


def follow(store: InMemoryAggregateStore, event: RelayReport) -> dict[str, Any]:
    outcome = store.apply(event.order_id, lambda order: apply_report(order, event), cause=event.event_id)
    return dict(outcome.aggregate.state or {})


def test_forwarded_then_shipped_then_fulfilled_is_shown_to_the_buyer() -> None:
    store = store_with()
    assert follow(store, report("forwarded"))["state"] == "forwarded"
    shipped = follow(store, report("shipped"))
    assert shipped["state"] == "shipped"
    done = follow(store, report("fulfilled"))
    view = order_view(ORDER, done)
    assert view.state == "fulfilled"
    assert view.shipment is not None and view.shipment.tracking_number == "1Z999AA10123456784"
    assert view.fulfilment is not None and view.fulfilment.download_link == LINK
    assert store.published == []  # checkout publishes nothing for a report


def test_a_shipment_overtaking_forwarded_is_kept_and_the_late_forwarded_changes_nothing() -> None:
    store = store_with()
    assert follow(store, report("shipped"))["state"] == "shipped"
    assert follow(store, report("forwarded"))["state"] == "shipped"


def test_a_refunded_order_stays_refunded_and_still_shows_the_parcel() -> None:
    store = store_with("refunded")
    after = follow(store, report("shipped"))
    assert after["state"] == "refunded" and after["shipment"]["carrier"] == "UPS"


def test_reports_that_do_not_fit_change_nothing() -> None:
    for state in ("held", "confirming", "failed", "cancelled"):
        store = store_with(state)
        assert follow(store, report("shipped")) == paid_order(state)
    store = store_with()
    assert follow(store, report("shipped", merchant_id="merchant-galosh-gmbh")) == paid_order()
    assert follow(store, report("shipped", order_id="order-nobody")) == {}


@given(st.lists(st.sampled_from(["forwarded", "shipped", "fulfilled"]), max_size=12))
def test_no_sequence_of_reports_moves_an_order_backwards(kinds: list[str]) -> None:
    store = store_with()
    state = "paid"
    for kind in kinds:
        following = follow(store, report(kind))["state"]
        assert STAGE[following] >= STAGE[state]
        state = following
    if "fulfilled" in kinds:
        assert state == "fulfilled"
