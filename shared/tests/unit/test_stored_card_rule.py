"""The rule a scan of stored data counts card numbers by (``stored_card_numbers``, rules 5-8 of
``buybutton.sensitive``): every payment card number as people write it counts (the issue's
examples, every Stripe test number, generated cards with random separators and neighbours),
while what storage engines and brokers write does not (zero runs, one digit repeated, 64-bit
maxima, millisecond timestamps, digits inside hexadecimal ids). It never counts more than the
input detector refuses. The property test prints its counts."""

from __future__ import annotations

import string
from collections import Counter

import pytest
from card_samples import SEPARATORS, STRIPE_TEST_CARDS, WORDS, card_numbers, ordinary_text, written_card
from hypothesis import given, settings
from hypothesis import strategies as st

from buybutton.sensitive import looks_like_card_number, stored_card_numbers

ISSUE_EXAMPLES = {
    "Apt 5 4242424242424242": "4242424242424242",
    "5555555555554444 7": "5555555555554444",
    "amex 378282246310005 1234": "378282246310005",
    "4242.4242.4242.4242": "4242424242424242",
    "4242\u00a04242\u00a04242\u00a04242": "4242424242424242",
    "4242\u200b4242\u200b4242\u200b4242": "4242424242424242",
    "card: 12 4242-4242-4242-4242 99": "4242424242424242",
    '{"note": "6011111111111117"}': "6011111111111117",
    "\uff14\uff12\uff14\uff12" * 4: "4242424242424242",
}
WRITTEN_BY_STORAGE = [
    "0000000000000000",
    "00000000000000000000.log",
    "1111111111111111",
    "4444444444444444",
    "log.cleaner.max.compaction.lag.ms = 9223372036854775807",
    "max = 1.7976931348623157E308",
    "ts=1733047200000 1733047200001",
    "test-4869b432.checkout.orders.v1.dlq-7.991d2ca4620549099702775dfda38336-delete",
    "788163329c7348568584085320f9e6de",
]


@pytest.mark.parametrize(("text", "number"), list(ISSUE_EXAMPLES.items()))
def test_the_issues_examples_count(text: str, number: str) -> None:
    assert number in stored_card_numbers(text)


def test_every_stripe_test_number_counts_alone_and_in_groups() -> None:
    for card in STRIPE_TEST_CARDS:
        grouped = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
        assert stored_card_numbers(card) == [card]
        assert card in stored_card_numbers(f"paid with {grouped}, thanks")


@pytest.mark.parametrize("text", WRITTEN_BY_STORAGE)
def test_what_storage_engines_write_does_not_count(text: str) -> None:
    assert stored_card_numbers(text) == []


def test_a_number_written_against_a_letter_does_not_count_though_input_refuses_it() -> None:
    """Rule 8's price: what a hexadecimal id looks like is not told apart from a card number
    glued to a word; input refuses both, so neither is ever stored through an API."""
    for text in ("order4242424242424242", "4242424242424242x", "c7348568584085320f"):
        assert stored_card_numbers(text) == []
    assert looks_like_card_number("order4242424242424242")


payment_cards = card_numbers.filter(lambda number: number[0] in "23456" and len(set(number)) > 1)
gaps = st.text(st.sampled_from(SEPARATORS), min_size=1, max_size=2)


@st.composite
def payment_card_in_text(draw: st.DrawFn) -> tuple[str, str]:
    """A payment card, cut into groups, with words (a space between) or another number (a
    separator between) on either side."""
    number, written = draw(written_card(payment_cards))

    def neighbour() -> tuple[str, str]:
        choice = draw(st.sampled_from(["nothing", "words", "digits"]))
        if choice == "words":
            return " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))), " "
        if choice == "digits":
            return draw(st.text(string.digits, min_size=1, max_size=6)), draw(gaps)
        return "", ""

    (before, gap_before), (after, gap_after) = neighbour(), neighbour()
    return number, f"{before}{gap_before}{written}{gap_after}{after}"


def test_generated_payment_cards_count_wherever_people_write_them(capsys: pytest.CaptureFixture[str]) -> None:
    tried: Counter[str] = Counter()

    @settings(max_examples=2_000, deadline=None, database=None)
    @given(sample=payment_card_in_text())
    def check(sample: tuple[str, str]) -> None:
        number, text = sample
        tried["cards"] += 1
        counted = number in stored_card_numbers(text)
        tried["missed"] += not counted
        assert counted, ascii(text)

    check()
    with capsys.disabled():
        print(
            f"\nstored-card rule: generated payment cards tried: {tried['cards']}, missed = {tried['missed']}"
        )
    assert tried["missed"] == 0 and tried["cards"] >= 1_000


@settings(max_examples=500, deadline=None, database=None)
@given(text=st.one_of(ordinary_text(), st.text(max_size=80)))
def test_a_scan_never_counts_what_the_input_detector_accepts(text: str) -> None:
    assert not stored_card_numbers(text) or looks_like_card_number(text)
