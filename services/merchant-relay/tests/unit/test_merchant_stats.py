"""The statistics' fold: whatever path each delivery takes (failing for a while, delivered, dead,
re-sent, gone), and however its changes arrive again (a record read twice after a restart, a
change the outbox relay sent twice), the merchant's record equals what the deliveries' final
standings say; and which outcomes are told at all."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from buybutton.events import MerchantDeliveryChanged
from buybutton.money import Money
from merchant_relay import delivery_changes, merchant_stats
from merchant_relay.deliveries import Claim, webhook_id

PUDDLE = "merchant-puddle-co"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PAID = {
    "amount": {"amount_minor": 4_999, "currency": "USD"},
    "payout": {"amount_minor": 4_749, "currency": "USD"},
}
ENDINGS = ("delivered", "dead", "gone")


def claim_of(
    delivery_id: str,
    order_id: str,
    *,
    attempt: int = 1,
    previous: Any = None,
    channels: Iterable[str] = (),
    kind: Any = "order.paid",
    merchant_id: str = PUDDLE,
) -> Claim:
    """The claim of one attempt, as deliveries.Deliveries.claim returns it."""
    return Claim(delivery_id, order_id, merchant_id, kind, attempt, START, tuple(sorted(channels)), previous)


@st.composite
def delivery_paths(draw: st.DrawFn) -> list[tuple[str, bool]]:
    """One delivery's outcomes in order (standing, reached a channel) : failing a few times,
    then an ending, and after a dead end possibly a re-send and another round."""
    path: list[tuple[str, bool]] = []
    for _ in range(draw(st.integers(1, 3))):
        path += [("failing", draw(st.booleans())) for _ in range(draw(st.integers(0, 3)))]
        ending = draw(st.sampled_from(ENDINGS))
        path.append((ending, ending == "delivered" or draw(st.booleans())))
        if ending != "dead" or not draw(st.booleans()):
            break
        path.append(("pending", False))  # re-sent
    return path


def changes_of(
    order_n: int, path: list[tuple[str, bool]]
) -> tuple[list[MerchantDeliveryChanged], dict[str, Any]]:
    """The changes the relay tells for this path, and the truth it leaves behind."""
    order_id = f"order-{order_n}"
    delivery_id = webhook_id(order_id, "order.paid")
    told: list[MerchantDeliveryChanged] = []
    previous: Any = None
    channels: set[str] = set()
    attempt = 0
    for standing, reached in path:
        if standing == "pending":
            told.append(
                delivery_changes.after_resend(
                    {
                        "_id": delivery_id,
                        "attempts": attempt,
                        "order_id": order_id,
                        "merchant_id": PUDDLE,
                        "kind": "order.paid",
                    }
                )
            )
        else:
            attempt += 1
            now_reached = channels | ({"topic"} if reached else set())
            claim = claim_of(delivery_id, order_id, attempt=attempt, previous=previous, channels=channels)
            change = delivery_changes.after_attempt(
                claim,
                standing=standing,  # type: ignore[arg-type]
                reached=now_reached,
                order=PAID,
            )
            channels = now_reached
            if change is not None:
                told.append(change)
        previous = standing
    return told, {"standing": previous, "forwarded": bool(channels)}


@settings(max_examples=150, deadline=None)
@given(
    paths=st.lists(delivery_paths(), min_size=1, max_size=8),
    repeats=st.lists(st.integers(0, 1000), max_size=20),
    replays=st.lists(st.integers(0, 1000), max_size=20),
)
def test_the_record_equals_the_final_standings_whatever_arrives_twice(
    paths: list[list[tuple[str, bool]]], repeats: list[int], replays: list[int]
) -> None:
    told: list[MerchantDeliveryChanged] = []
    truths = []
    for n, path in enumerate(paths):
        changes, truth = changes_of(n, path)
        told += changes
        truths.append(truth)
    # the input topic: every change once, in order per delivery; some sent again later (repeats)
    topic = told + [told[i % len(told)] for i in repeats if told]
    record: dict[str, Any] | None = None
    applied_upto = -1
    for offset, change in enumerate(topic):
        record = merchant_stats.applied(record, change, offset) or record
        applied_upto = offset
        for back in replays:  # a restart reads again from an earlier offset
            if back % (offset + 1) == offset:
                for again in range(max(0, offset - 3), offset + 1):
                    record = merchant_stats.applied(record, topic[again], again) or record
    shown = merchant_stats.public(record, PUDDLE)
    finals = [t["standing"] for t in truths]
    forwarded = sum(t["forwarded"] for t in truths)
    assert applied_upto == len(topic) - 1
    assert shown["forwarded"] == forwarded
    assert shown["delivered"] == finals.count("delivered")
    assert shown["failing"] == finals.count("failing")
    assert shown["dead"] == finals.count("dead")
    assert shown["gone"] == finals.count("gone")
    assert shown["gmv"] == ({"USD": 4_999 * forwarded} if forwarded else {})
    assert shown["payouts"] == ({"USD": 4_749 * forwarded} if forwarded else {})


def test_failing_again_is_not_told_and_the_first_arrival_carries_the_order_s_worth() -> None:
    paid = webhook_id("order-1", "order.paid")
    first = delivery_changes.after_attempt(
        claim_of(paid, "order-1", attempt=1, previous=None, channels=()),
        standing="failing",
        reached={"topic"},
        order=PAID,
    )
    again = delivery_changes.after_attempt(
        claim_of(paid, "order-1", attempt=2, previous="failing", channels=("topic",)),
        standing="failing",
        reached={"topic"},
        order=PAID,
    )
    done = delivery_changes.after_attempt(
        claim_of(paid, "order-1", attempt=3, previous="failing", channels=("topic",)),
        standing="delivered",
        reached={"topic", "webhook"},
        order=PAID,
    )
    assert first is not None and first.forwarded and first.amount == Money(amount_minor=4_999, currency="USD")
    assert again is None
    assert done is not None and not done.forwarded and done.amount is None
    assert (first.sequence, done.sequence) == (2, 6) and first.event_id != done.event_id
    refund = delivery_changes.after_attempt(
        claim_of(webhook_id("order-1", "order.refunded"), "order-1", kind="order.refunded"),
        standing="delivered",
        reached={"webhook"},
        order=PAID,
    )
    assert refund is not None and not refund.forwarded  # only a paid order counts as forwarded


def test_a_record_of_another_merchant_s_name_is_never_mixed_in() -> None:
    change = delivery_changes.after_attempt(
        claim_of(webhook_id("order-2", "order.paid"), "order-2", merchant_id="merchant-galosh"),
        standing="delivered",
        reached={"webhook"},
        order=PAID,
    )
    assert change is not None
    record = merchant_stats.applied(None, change, 0)
    assert record is not None and record["merchant_id"] == "merchant-galosh"
    assert merchant_stats.public(None, PUDDLE)["forwarded"] == 0


def test_a_record_read_again_after_a_restart_is_skipped_by_its_offset_beyond_the_recent_ids(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(merchant_stats, "RECENT", 2)
    told, _ = changes_of(0, [("failing", True), ("failing", True), ("dead", True), ("pending", False)])
    told += changes_of(1, [("delivered", True)])[0] + changes_of(2, [("gone", False)])[0]
    record = None
    for offset, change in enumerate(told):
        record = merchant_stats.applied(record, change, offset) or record
    assert record is not None and len(record["recent"]) == 2
    for offset, change in enumerate(told):  # the whole partition read again from its start
        assert merchant_stats.applied(record, change, offset) is None
    shown = merchant_stats.public(record, PUDDLE)
    assert (shown["forwarded"], shown["delivered"], shown["dead"], shown["gone"]) == (2, 1, 0, 1)
