"""The card detector finds a card number wherever it hides in text: written with separators of
any kind (spaces of every Unicode class, zero-width and format characters, dots, dashes,
slashes), next to other digit groups, at any place in a longer digit run; and it leaves
ordinary text with digits alone (addresses, phone numbers, ZIP codes, order numbers, dates,
times, prices). Each property test prints how many samples it tried and how many went wrong."""

from __future__ import annotations

import random
import sys
import unicodedata
from collections import Counter

import pytest
from card_samples import STRIPE_TEST_CARDS, card_in_text, luhn_complete, ordinary_text
from hypothesis import given, settings

from buybutton.inputs import find_card_data
from buybutton.sensitive import card_numbers_in, has_luhn_window, looks_like_card_number, mask_text

ISSUE_EXAMPLES = [
    "Apt 5 4242424242424242",
    "5555555555554444 7",
    "amex 378282246310005 1234",
    "4242.4242.4242.4242",
    "4242\u00a04242\u00a04242\u00a04242",
    "4242\u200b4242\u200b4242\u200b4242",
    "4242\u20094242\u20094242\u20094242",
    "4242/4242/4242/4242",
    "4242_4242_4242_4242",
    "card: 12 4242-4242-4242-4242 99",
    "\uff14\uff12\uff14\uff12" * 4,  # fullwidth digits
]
ORDINARY_EXAMPLES = [
    "221B Baker Street",
    "(415) 555-0132",
    "+1 415 555 0132",
    "94103-1234",
    "#A-1042",
    "2024-05-17",
    "2024-05-17 14:30",
    "2024-05-17T14:30:00Z",
    "$19.99",
    "$1,299.99",
    "1600 Amphitheatre Parkway, Mountain View, CA 94043",
    "Order #10423 of 2024-05-17, 3 items, $59.97",
    "Sizes 8, 10, 12, 14, 16",
    "Call (415) 555-0132 or (415) 555-0199 before 17:00",
]


@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_the_issues_examples_are_found_and_masked(text: str) -> None:
    assert looks_like_card_number(text)
    masked = mask_text(f"note: {text} end")
    assert "[card-number]" in masked and not looks_like_card_number(masked)


@pytest.mark.parametrize("text", ORDINARY_EXAMPLES)
def test_ordinary_examples_are_accepted(text: str) -> None:
    assert card_numbers_in(text) == []


def test_every_window_is_tried_not_the_whole_run() -> None:
    """A card at any offset of a longer run of digits (the run fails Luhn as a whole)."""
    rng = random.Random(1042)
    for card in STRIPE_TEST_CARDS:
        for _ in range(20):
            before = "".join(rng.choices("0123456789", k=rng.randint(1, 12)))
            after = "".join(rng.choices("0123456789", k=rng.randint(0, 12)))
            assert has_luhn_window([int(d) for d in before + card + after]), (before, card, after)


def test_thirteen_to_nineteen_digits_only() -> None:
    assert not looks_like_card_number(luhn_complete("1" * 11))  # 12 digits
    assert looks_like_card_number(luhn_complete("1" * 12))  # 13 digits
    assert looks_like_card_number(luhn_complete("1" * 18))  # 19 digits
    # a run of ones holds no Luhn-valid window of 13-19 digits, however long it is
    assert not looks_like_card_number("1" * 10_000)


def test_the_digit_count_that_answers_short_texts_counts_what_the_runs_count() -> None:
    """looks_like_card_number answers "no" when str.isdigit finds fewer than 13 digits: that must
    count exactly the characters the digit runs read as digits (those with a digit value)."""
    differ = [
        hex(point)
        for point in range(sys.maxunicode + 1)
        if chr(point).isdigit() != (unicodedata.digit(chr(point), None) is not None)
    ]
    print(f"code points checked: {sys.maxunicode + 1}, counted differently: {len(differ)}")
    assert differ == []
    fullwidth_card = "".join(chr(0xFF10 + int(d)) for d in STRIPE_TEST_CARDS[0])
    assert looks_like_card_number(fullwidth_card)


def test_numbers_keys_and_floats_are_searched_too() -> None:
    assert find_card_data({"amount": 4242424242424242}) == "amount"
    assert find_card_data({"amount": 4242424242424242.0}) == "amount"
    assert find_card_data({"note": {"Apt 5 4242424242424242": "x"}}) == "note.<a key>"


def test_generated_cards_are_found_wherever_they_sit(capsys: pytest.CaptureFixture[str]) -> None:
    tried: Counter[str] = Counter()

    @settings(max_examples=3_000, deadline=None, database=None)
    @given(sample=card_in_text())
    def check(sample: tuple[str, str]) -> None:
        number, text = sample
        tried["cards"] += 1
        tried["stripe test numbers"] += number in STRIPE_TEST_CARDS
        found = looks_like_card_number(text)
        tried["accepted"] += not found
        assert found, ascii(text)
        assert not looks_like_card_number(mask_text(text)), ascii(text)
        assert find_card_data({"field": text, text: "value"}) is not None

    check()
    with capsys.disabled():
        print(
            f"\ncard detector: generated cards tried: {tried['cards']}"
            f" ({tried['stripe test numbers']} Stripe test numbers), accepted = {tried['accepted']}"
        )
    assert tried["accepted"] == 0 and tried["cards"] >= 1_000


def test_ordinary_text_with_digits_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    tried: Counter[str] = Counter()

    @settings(max_examples=3_000, deadline=None, database=None)
    @given(text=ordinary_text())
    def check(text: str) -> None:
        tried["texts"] += 1
        tried["digits"] += sum(c.isdigit() for c in text)
        refused = looks_like_card_number(text)
        tried["refused"] += refused
        assert not refused, text

    check()
    with capsys.disabled():
        print(
            f"\ncard detector: ordinary texts tried: {tried['texts']} ({tried['digits']} digits),"
            f" refused = {tried['refused']}"
        )
    assert tried["refused"] == 0 and tried["texts"] >= 1_000
