"""Hypothesis strategies for the card-data property tests of every service: card numbers (the
Stripe test numbers of each brand, and random Luhn-valid numbers of 13 to 19 digits) written
with random separators between random groups, inside random text, next to other digit groups;
and ordinary text with digits as people write it (addresses, phone numbers, ZIP codes, order
numbers, dates, times, prices), which must always be accepted; and what an endpoint's refusal
of a card must look like."""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buybutton.sensitive import looks_like_card_number, luhn_valid

# where a caller can put text: a request sending it, and the status that refuses it there
Place = tuple[Callable[[str], httpx.Response], int]

STRIPE_TEST_CARDS = (
    "4242424242424242",
    "4000056655665556",
    "5555555555554444",
    "2223003122003222",
    "5200828282828210",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "3056930009020004",
    "36227206271667",
    "3566002020360505",
    "6200000000000005",
)
# spaces of every class, zero-width and format characters, dots, dashes, slashes, underscores
SEPARATORS = (
    " ",
    "\u00a0",  # no-break space
    "\u2002",  # en space
    "\u2007",  # figure space
    "\u2009",  # thin space
    "\u200a",  # hair space
    "\u202f",  # narrow no-break space
    "\u205f",  # medium mathematical space
    "\u3000",  # ideographic space
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # zero-width no-break space (BOM)
    "\u00ad",  # soft hyphen
    "\u200e",  # left-to-right mark
    ".",
    "-",
    "\u2010",  # hyphen
    "\u2011",  # non-breaking hyphen
    "\u2013",  # en dash
    "\u2014",  # em dash
    "\u2212",  # minus sign
    "/",
    "\\",
    "_",
    "\u00b7",  # middle dot
    "\u2022",  # bullet
    "\uff0e",  # fullwidth full stop
    "\uff0f",  # fullwidth solidus
)
WORDS = ("paid", "with", "my", "card", "Apt", "ref", "amex", "visa", "call", "note", "order", "gift", "for")


def luhn_complete(body: str) -> str:
    """``body`` with the check digit that makes it pass Luhn."""
    return next(body + check for check in string.digits if luhn_valid(body + check))


random_cards = st.integers(12, 18).flatmap(
    lambda length: st.text(string.digits, min_size=length, max_size=length).map(luhn_complete)
)
card_numbers = st.one_of(st.sampled_from(STRIPE_TEST_CARDS), random_cards)
separator_runs = st.text(st.sampled_from(SEPARATORS), min_size=0, max_size=3)


@st.composite
def written_card(draw: st.DrawFn, numbers: st.SearchStrategy[str] = card_numbers) -> tuple[str, str]:
    """(card number, the card as written: cut into groups with random separators between)."""
    number = draw(numbers)
    cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=6)))
    groups = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    written = groups[0]
    for group in groups[1:]:
        written += draw(separator_runs) + group
    return number, written


def _neighbour(draw: st.DrawFn, *, before: bool) -> str:
    """What stands next to the card: nothing, words, or another digit group (as in "Apt 5 ...")."""
    words = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=3)))
    digits = draw(st.text(string.digits, min_size=1, max_size=6))
    gap = draw(st.sampled_from([" ", "\u00a0", "-", ".", "/", ""]))
    choice = draw(st.sampled_from(["nothing", "words", "digits", "words and digits"]))
    if choice == "nothing":
        return ""
    if choice == "words":
        return f"{words} " if before else f" {words}"
    if choice == "digits":
        return f"{digits}{gap}" if before else f"{gap}{digits}"
    return f"{words} {digits}{gap}" if before else f"{gap}{digits} {words}"


@st.composite
def card_in_text(draw: st.DrawFn) -> tuple[str, str]:
    """(card number, text holding it with random surroundings: at most 120 characters)."""
    number, written = draw(written_card())
    return number, _neighbour(draw, before=True) + written + _neighbour(draw, before=False)


def _pick(*choices: str) -> st.SearchStrategy[str]:
    return st.sampled_from(choices)


def _number(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(str)


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text(string.digits, min_size=count, max_size=count)


street_address = st.builds(
    lambda number, letter, street, kind: f"{number}{letter} {street} {kind}",
    _number(1, 99999),
    _pick("", "", "B", "A", "½"),
    _pick("Baker", "Main", "Market", "Elm", "Amphitheatre", "Mission", "5th", "42nd", "Queen's"),
    _pick("Street", "St.", "Avenue", "Ave", "Road", "Parkway", "Blvd", "Lane"),
)
unit = st.builds(
    lambda kind, number: f"{kind} {number}",
    _pick("Apt", "Apt.", "Suite", "Unit", "Flat", "#"),
    _number(1, 9999),
)
us_phone = st.builds(
    lambda area, exchange, line, style: style.format(a=area, e=exchange, n=line),
    _digits(3),
    _digits(3),
    _digits(4),
    _pick("({a}) {e}-{n}", "{a}-{e}-{n}", "{a}.{e}.{n}", "+1 {a} {e} {n}", "+1 ({a}) {e}-{n}", "{a} {e} {n}"),
)
zip_code = st.one_of(_digits(5), st.builds(lambda five, four: f"{five}-{four}", _digits(5), _digits(4)))
order_number = st.builds(
    lambda style, letter, number: style.format(letter=letter, number=number),
    _pick(
        "#{letter}-{number}",
        "#{number}",
        "order #{number}",
        "Order {letter}{number}",
        "ref {letter}-{number}",
    ),
    st.sampled_from(string.ascii_uppercase),
    _number(1, 99_999_999),
)
iso_date = st.dates().map(lambda day: day.isoformat())
us_date = st.dates().map(lambda day: day.strftime("%m/%d/%Y"))
clock = st.builds(lambda h, m: f"{h}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
date_and_time = st.builds(lambda day, time: f"{day} {time}", iso_date, clock)
iso_datetime = st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
price = st.builds(
    lambda symbol, amount: f"{symbol}{amount / 100:,.2f}",
    _pick("$", "€", "£", "USD ", "US$"),
    st.integers(1, 10**9),
)
quantity = st.builds(
    lambda count, noun: f"{count} {noun}", _number(1, 500), _pick("x", "pcs", "oz", "items", "% off", "kg")
)
FRAGMENTS: dict[str, st.SearchStrategy[str]] = {
    "street address": street_address,
    "unit": unit,
    "US phone": us_phone,
    "ZIP": zip_code,
    "order number": order_number,
    "ISO date": iso_date,
    "US date": us_date,
    "time": clock,
    "date and time": date_and_time,
    "ISO date-time": iso_datetime,
    "price": price,
    "quantity": quantity,
}
# what people put between two numbers: a word or a comma (never only a space or a dash)
JOINERS = (", ", " on ", " at ", " and ", " or ", "; ", " (", "), ", " for ", " ship to ", " call ", ": ")


@st.composite
def ordinary_text(draw: st.DrawFn, max_size: int = 280) -> str:
    """A sentence of 1-6 fragments with digits, joined as people join them."""
    fragments = draw(st.lists(st.sampled_from(sorted(FRAGMENTS)), min_size=1, max_size=6))
    text = draw(_pick("", "New in: ", "Ship to ", "Deliver to ", "Sale ends ", "Call us: "))
    for index, name in enumerate(fragments):
        if index:
            text += draw(st.sampled_from(JOINERS))
        text += draw(FRAGMENTS[name])
    text += draw(_pick("", ".", "!", " today.", " - thanks!"))
    return text[:max_size].strip() or "Thanks"


def refused_as_expected(place: str, response: httpx.Response, expected: int, text: str) -> bool:
    """``expected``; a 422 says card data, unless a path id's pattern refused the text first (a
    path parameter is checked for its pattern before its content); a "/" makes a path no route
    has (404)."""
    in_path = place.endswith("(path)")
    if in_path and "/" in text and response.status_code == 404:
        return True
    if response.status_code != expected:
        return False
    card_said = "card data is never accepted" in response.text
    return expected != 422 or card_said or (in_path and "string_pattern_mismatch" in response.text)


def refused_everywhere(places: dict[str, Place], number: str, text: str, tried: Counter[str]) -> None:
    """Send ``text`` (holding ``number``) to every place: each refuses it and never repeats it."""
    for name, (send, expected) in places.items():
        response = send(text)
        tried["requests"] += 1
        tried["accepted"] += response.is_success
        assert refused_as_expected(name, response, expected, text), (name, ascii(text), response.text)
        assert number not in response.text and text not in response.text, (name, response.text)
        assert not looks_like_card_number(response.text), (name, response.text)


def generated_cards_refused(
    places: dict[str, Place], *, service: str, examples: int, capsys: pytest.CaptureFixture[str]
) -> Counter[str]:
    """Send ``examples`` generated card numbers in text to every place (``refused_everywhere``),
    print the counts, and return them: ``cards``, ``requests`` and ``accepted`` (must be 0)."""
    tried: Counter[str] = Counter()

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(sample=card_in_text())
    def check(sample: tuple[str, str]) -> None:
        tried["cards"] += 1
        refused_everywhere(places, *sample, tried)

    check()
    with capsys.disabled():
        print(
            f"\n{service}: generated cards tried: {tried['cards']} in {len(places)} places"
            f" ({tried['requests']} requests), accepted = {tried['accepted']}"
        )
    return tried
