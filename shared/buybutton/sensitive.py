"""Recognise values that must never be accepted, logged or published: card numbers, bearer tokens
and JWTs, and the field names that carry secrets or personal data. Used by the log redactor, the
dead-letter writer and every input check (bodies, path and query parameters, token claims).

What reads as a card number
---------------------------
1. A *digit* is any character with a decimal digit value (``unicodedata.digit``): ASCII 0-9,
   the other scripts' decimal digits (fullwidth, Arabic-Indic, ...), superscripts and the like.
2. A *separator* is a character that may stand between the digits of one number:
   every white space (``str.isspace``: spaces of every Unicode class, NBSP and thin spaces
   included, tabs, line breaks), every control (Cc) and format character (Cf: zero-width
   space and joiners, soft hyphen, BOM, direction marks), every combining mark (Mn, Mc, Me),
   every dash (Pd), and the characters in ``EXTRA_SEPARATORS`` (dots, slashes, underscores,
   apostrophes, bars, minus signs, bullets and their fullwidth forms).
3. A *digit run* is a maximal stretch of text that starts and ends with a digit and holds
   nothing but digits and separators: ``"4242 4242.4242-4242"`` is one run of 16 digits, and so
   is ``"Apt 5 4242424242424242"``'s ``"5 4242424242424242"`` (17 digits). Anything else ends a
   run: letters, and every other punctuation or symbol (``, ; : ( ) # + $ % = * ?`` ...).
4. A run holds a card number when *any* window of 13 to 19 consecutive digits of it passes the
   Luhn check, wherever the window sits in the run (not only the whole run).

So ordinary text with digits is accepted as long as no 13 or more digits are joined by
separators only: a street address (``"221B Baker Street"``), a phone number (``"(415)
555-0132"``, 10 digits), a ZIP+4 code (``"94103-1234"``), an order number (``"#A-1042"``), a
date and time (``"2024-05-17 14:30"``: the colon ends the run), a price (``"$1,299.99"``). Two
numbers with only separators between them read as one run (``"2024-05-17 - 2024-05-24"`` is
16 digits), and about one window in ten passes Luhn, so such a run of 13 digits or more is
refused more often than not: separate numbers with a word or a comma. A run of 13 or more
digits is what a card number looks like, and it is refused on purpose.

Cost: two prefix sums per run, then one subtraction per window: linear in the text's length.
A text with fewer than 13 digits in all is answered from one count (``str.isdigit`` holds for
exactly the characters that have a digit value, every code point checked in the tests).

What a scan of stored data counts
---------------------------------
Input is refused on the rule above, which errs on the side of refusing: a refused address costs
its writer a rewording, an accepted card number is stored. A scan of what is already stored
(files, topic records: ``devstack scan-cards``) reads the same digit runs and the same Luhn
windows, and counts a window as a card number (``stored_card_numbers``) only when, also:

5. its first digit is a payment card's major industry identifier (ISO/IEC 7812): 2 (Mastercard's
   2-series), 3 (American Express, Diners Club, JCB), 4 (Visa), 5 (Mastercard) or 6 (Discover,
   UnionPay, Maestro);
6. its digits are not all one digit;
7. it begins and ends where a group of digits does (a *group*: digits written next to each
   other, nothing between them), so it is the whole of the groups it covers: in
   ``"Apt 5 4242424242424242"`` the window ``4242424242424242`` is the second group, while of
   the one group ``9223372036854775807`` only the whole could count (and, beginning with 9,
   does not);
8. its run is not written against a letter: the character before the run, and the one after it,
   is not a letter (``str.isalpha``), so a stretch of digits inside a hexadecimal id
   (``...9c7348568584085320f9...``) does not count.

So the zero runs, sequence numbers, 64-bit maxima, millisecond timestamps (``1733...``, 13
digits) and random hexadecimal ids that storage engines and brokers write do not count, while a
card number as anyone writes it (alone, in groups, next to other numbers, after a word and a
space) does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import accumulate

CARD_MIN_DIGITS = 13
CARD_MAX_DIGITS = 19
PAYMENT_CARD_FIRST_DIGITS = frozenset({2, 3, 4, 5, 6})
# dots, slashes, underscores, apostrophes, bars, bullets, minus signs; ASCII, then other forms
EXTRA_SEPARATORS = frozenset(
    "./\\_|'"
    "\u00b7\u2019\u2022\u2024\u2025\u2026\u2027\u2044\u2212\u2215\u2219\u22c5"
    "\u3002\u30fb\uff0e\uff0f\uff3c\uff3f\uff5c\uff61\uff65"
)
SEPARATOR_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Mc", "Me", "Pd"})
# Luhn doubles every second digit from the right; a doubled digit over 9 counts its digit sum
DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
BEARER = re.compile(r"(?i)bearer\s+\S+")

SENSITIVE_NAME_PARTS = (
    "password",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
    "card",
    "cvc",
    "cvv",
    "email",
    "phone",
    "address",
    "line1",
    "line2",
    "postal",
    "zip",
    "recipient",
    "full_name",
    "master_key",
    "data_key",
    "plaintext",
)

_SEPARATOR = -1
_OTHER = -2


@lru_cache(maxsize=8192)
def _kind(char: str) -> int:
    """A digit's value (0-9), or _SEPARATOR, or _OTHER."""
    value = unicodedata.digit(char, None)
    if value is not None:
        return value
    if char.isspace() or char in EXTRA_SEPARATORS or unicodedata.category(char) in SEPARATOR_CATEGORIES:
        return _SEPARATOR
    return _OTHER


def digit_runs(text: str) -> list[tuple[int, int, list[int]]]:
    """Each digit run of ``text`` as (start, end, digits): ``text[start:end]`` is the run."""
    runs: list[tuple[int, int, list[int]]] = []
    start = end = -1
    digits: list[int] = []
    for index, char in enumerate(text):
        kind = _kind(char)
        if kind >= 0:
            if not digits:
                start = index
            digits.append(kind)
            end = index + 1
        elif kind == _OTHER and digits:
            runs.append((start, end, digits))
            digits = []
    if digits:
        runs.append((start, end, digits))
    return runs


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        total += DOUBLED[value] if position % 2 == 1 else value
    return total % 10 == 0


def luhn_windows(digits: list[int]) -> Iterator[tuple[int, int]]:
    """Each window [start, end) of 13-19 consecutive digits of ``digits`` that passes the Luhn
    check, by end, then by length.

    A window [i, j) ends with its check digit at j - 1; the digits doubled are those whose
    distance to j - 1 is odd, i.e. whose index has the other parity. ``sums[p][x]`` is the Luhn
    sum of digits[:x] for windows ending on parity p, so each window costs one subtraction."""
    if len(digits) < CARD_MIN_DIGITS:
        return
    sums = [
        list(accumulate((v if k % 2 == parity else DOUBLED[v] for k, v in enumerate(digits)), initial=0))
        for parity in (0, 1)
    ]
    for end in range(CARD_MIN_DIGITS, len(digits) + 1):
        prefix = sums[(end - 1) % 2]
        last = prefix[end]
        for length in range(CARD_MIN_DIGITS, min(CARD_MAX_DIGITS, end) + 1):
            if (last - prefix[end - length]) % 10 == 0:
                yield end - length, end


def has_luhn_window(digits: list[int]) -> bool:
    """Whether any 13-19 consecutive digits of ``digits`` pass the Luhn check."""
    return next(luhn_windows(digits), None) is not None


def stored_card_numbers(text: str) -> list[str]:
    """The digits of every window of ``text`` that a scan of stored data counts (rules 1-8)."""
    found = []
    for start, end, digits in digit_runs(text):
        if (start > 0 and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha()):
            continue
        positions = [index for index in range(start, end) if _kind(text[index]) >= 0]
        group_starts = {0} | {k for k in range(1, len(positions)) if positions[k] != positions[k - 1] + 1}
        group_ends = {k for k in group_starts if k} | {len(positions)}
        for first, last in luhn_windows(digits):
            window = digits[first:last]
            if (
                first in group_starts
                and last in group_ends
                and window[0] in PAYMENT_CARD_FIRST_DIGITS
                and len(set(window)) > 1
            ):
                found.append("".join(map(str, window)))
    return found


def card_number_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every digit run of ``text`` that holds a card number."""
    return [(start, end) for start, end, digits in digit_runs(text) if has_luhn_window(digits)]


def card_numbers_in(text: str) -> list[str]:
    """Every digit run in ``text`` that holds a card number, as written (separators included)."""
    return [text[start:end] for start, end in card_number_spans(text)]


def looks_like_card_number(text: str) -> bool:
    if sum(map(str.isdigit, text)) < CARD_MIN_DIGITS:
        return False  # too few digits for any card: most ids, names and claims stop here, in C
    return any(has_luhn_window(digits) for _, _, digits in digit_runs(text))


def card_free(draw: Callable[[], str]) -> str:
    """``draw()`` again until it holds no card number: for random ids (a random hex or uuid id
    holds a Luhn-valid run of 13 or more digits about once in 150 draws), so that an id the
    platform generates is never refused as a path parameter nor found by a scan for card data."""
    while True:
        drawn = draw()
        if not looks_like_card_number(drawn):
            return drawn


def card_free_derived(derive: Callable[[int], str]) -> str:
    """The first of ``derive(0)``, ``derive(1)``, ... that holds no card number: ``card_free`` for
    ids that must stay a pure function of their inputs (ids derived from a cause)."""
    attempt = 0
    while looks_like_card_number(drawn := derive(attempt)):
        attempt += 1
    return drawn


def is_sensitive_name(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SENSITIVE_NAME_PARTS)


def mask_text(text: str) -> str:
    """The text with card numbers (their whole digit run), bearer tokens and JWTs replaced."""
    for start, end in reversed(card_number_spans(text)):
        text = text[:start] + "[card-number]" + text[end:]
    text = BEARER.sub("Bearer [redacted]", text)
    return JWT_LIKE.sub("[jwt]", text)
