"""Fee arithmetic as checkout charges it: integer minor units, fee = amount x bps / 10 000
rounded half-up (buybutton.money), and an order's amount = unit price x quantity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from buybutton.money import Money

amounts = st.integers(min_value=0, max_value=10**10)
bps = st.integers(min_value=0, max_value=10_000)


@given(amounts, bps)
def test_the_fee_is_the_exact_fee_rounded_half_up(amount: int, fee_bps: int) -> None:
    fee = Money(amount_minor=amount, currency="USD").fee(fee_bps).amount_minor
    exact_times_10k = amount * fee_bps
    assert isinstance(fee, int)
    # |fee - exact| <= 1/2, and exactly half rounds up
    assert -5_000 < fee * 10_000 - exact_times_10k <= 5_000
    assert 0 <= fee <= amount


@given(amounts, bps, bps)
def test_a_higher_rate_never_gives_a_lower_fee(amount: int, low: int, high: int) -> None:
    low, high = sorted((low, high))
    money = Money(amount_minor=amount, currency="JPY")
    assert money.fee(low).amount_minor <= money.fee(high).amount_minor


def test_stated_examples() -> None:
    assert Money(amount_minor=4_999, currency="USD").fee(500).amount_minor == 250  # 249.95 -> 250
    assert Money(amount_minor=10, currency="USD").fee(5_000).amount_minor == 5
    assert Money(amount_minor=1, currency="USD").fee(5_000).amount_minor == 1  # 0.5 -> 1 (half-up)
    assert Money(amount_minor=1, currency="USD").fee(4_999).amount_minor == 0


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=10), bps)
def test_amount_is_unit_price_times_quantity_and_fee_is_on_the_total(
    unit: int, quantity: int, fee_bps: int
) -> None:
    total = Money(amount_minor=unit, currency="USD").times(quantity)
    assert total.amount_minor == unit * quantity
    assert total.fee(fee_bps).amount_minor == (unit * quantity * fee_bps + 5_000) // 10_000
