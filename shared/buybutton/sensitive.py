"""Recognise values that must never be accepted, logged or published: card numbers (Luhn-valid
runs of 13-19 digits, spaces or dashes allowed between them), bearer tokens and JWTs, and the
field names that carry secrets or personal data. Used by the log redactor and by input checks.
"""

from __future__ import annotations

import re

CARD_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
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


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    """Every card-shaped run in ``text``: 13-19 digits (spaces or dashes between) passing Luhn."""
    found = []
    for match in CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(match.group())
    return found


def looks_like_card_number(text: str) -> bool:
    return bool(card_numbers_in(text))


def is_sensitive_name(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SENSITIVE_NAME_PARTS)


def mask_text(text: str) -> str:
    """The text with card numbers, bearer tokens and JWTs replaced by markers."""
    for card in card_numbers_in(text):
        text = text.replace(card, "[card-number]")
    text = BEARER.sub("Bearer [redacted]", text)
    return JWT_LIKE.sub("[jwt]", text)
