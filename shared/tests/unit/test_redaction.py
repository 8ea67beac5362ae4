"""No secret or personal data reaches a log line, at any depth; ids that help debugging stay."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from buybutton.logging import configure_logging, get_logger
from buybutton.sensitive import card_numbers_in, luhn_valid

CARD = "4000 0566 5566 5556"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    logging.getLogger().handlers.clear()


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJidXllci1hZGEifQ.c2lnbmF0dXJl"


def test_log_lines_carry_context_but_no_pii(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("checkout-service")
    with structlog.contextvars.bound_contextvars(event_id="evt-1", correlation_id="order-1"):
        get_logger("test").info(
            f"buyer pasted {CARD} into the note",
            email="ada@example.com",
            shipping_address={"line1": "12 Analytical Row", "city": "London"},
            headers={"Authorization": f"Bearer {JWT}"},
            api_key="bb_live_s3cret",
            note=f"token {JWT}",
            order_id="order-1",
        )
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    text = json.dumps(line)
    for secret in (CARD, "ada@example.com", "12 Analytical Row", JWT, "bb_live_s3cret"):
        assert secret not in text
    assert line["service"] == "checkout-service"
    assert line["event_id"] == "evt-1" and line["correlation_id"] == "order-1"
    assert line["order_id"] == "order-1"
    assert "[card-number]" in line["event"]


def test_standard_library_loggers_are_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("vault-service")
    logging.getLogger("some.library").warning("retrying with card %s", CARD)
    out = capsys.readouterr().out
    assert CARD not in out and "[card-number]" in out


def luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable: one check digit always completes a Luhn number")


def test_libraries_that_log_urls_or_documents_say_only_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("checkout-service", level="DEBUG")
    logging.getLogger("httpx").info('HTTP Request: POST /v1/payment_methods/pm_1Ada/attach "200 OK"')
    logging.getLogger("pymongo.command").debug('{"message": "Command succeeded", "reply": "cus_1Ada"}')
    logging.getLogger("httpx").warning("the vault answered slowly")
    get_logger("checkout_service").debug("payment step")
    out = capsys.readouterr().out
    assert "pm_1Ada" not in out and "cus_1Ada" not in out
    assert "the vault answered slowly" in out and "payment step" in out


@given(st.text(alphabet="0123456789", min_size=12, max_size=18), st.sampled_from(["", " ", "-"]))
def test_every_luhn_valid_13_to_19_digit_number_is_found(body: str, separator: str) -> None:
    number = luhn_complete(body)
    shown = separator.join(number[i : i + 4] for i in range(0, len(number), 4))
    assert card_numbers_in(f"paid with {shown} yesterday") == [shown]


@given(st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_short_digit_runs_are_not_cards(digits: str) -> None:
    assert card_numbers_in(f"order {digits}") == []
