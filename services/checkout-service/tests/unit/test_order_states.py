"""The order state machine: the transition table only moves forward, and any sequence of order
events, in any order and repeated, never moves an order backwards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkout_service.order_states import (
    EVENT_TARGETS,
    FINAL,
    STAGE,
    STATES,
    TRANSITIONS,
    IllegalTransition,
    after_event,
    move,
)


def test_every_transition_goes_to_a_later_stage() -> None:
    for current, targets in TRANSITIONS.items():
        for target in targets:
            assert STAGE[target] > STAGE[current], (current, target)


def test_final_states_have_no_way_out_and_every_state_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(STATES)
    assert all(not TRANSITIONS[state] for state in FINAL)


def test_the_happy_path_is_allowed() -> None:
    state = "held"
    for target in ("confirming", "requires_action", "paid", "forwarded", "shipped", "fulfilled", "refunded"):
        state = move(state, target)
    assert state == "refunded"


@pytest.mark.parametrize(
    ("current", "target"),
    [("paid", "held"), ("cancelled", "held"), ("paid", "confirming"), ("failed", "paid"), ("held", "paid")],
)
def test_backwards_or_skipping_moves_are_refused(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition):
        move(current, target)


@given(st.lists(st.sampled_from([*sorted(EVENT_TARGETS), "SomethingUnknown"]), max_size=30))
def test_no_sequence_of_events_moves_an_order_backwards(events: list[str]) -> None:
    state = "held"
    for event_type in events:
        following = after_event(state, event_type)
        assert STAGE[following] >= STAGE[state]
        assert following == state or following in TRANSITIONS[state]
        state = following


@given(st.permutations(["OrderCancelled", "PaymentCaptured", "PaymentFailed", "BuyClicked"]))
def test_a_cancelled_or_failed_order_stays_ended(events: list[str]) -> None:
    state = "held"
    for event_type in events:
        state = after_event(state, event_type)
    assert state in {"cancelled", "failed"}
