"""The rollout gate is deterministic, sticky, monotone and fail-closed."""

from __future__ import annotations

import math
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from buybutton.events import RolloutChanged
from buybutton.rollout import BUCKETS, GateRules, bucket, decide

SELLER = "merchant-puddle-and-co"


def rules(percentage_bps: int, **changes: object) -> GateRules:
    base = RolloutChanged(
        rule_name="buy-button",
        correlation_id="buy-button",
        producer="rollout-service",
        countries=["US"],
        percentage_bps=percentage_bps,
        allowed_sellers=[SELLER],
        override_users=["employee-grace"],
        salt="2014-09-08",
        changed_by="admin",
    )
    return GateRules.of(base.model_copy(update=changes))


def test_exposure_over_a_million_users_is_within_three_sigma_of_the_percentage() -> None:
    users = 1_000_000
    gate = rules(1_000)  # 10 %
    shown = sum(gate.explain(user_id=f"user-{n}", country="US", seller_id=SELLER).shown for n in range(users))
    expected, sigma = users * 0.1, math.sqrt(users * 0.1 * 0.9)
    assert abs(shown - expected) < 3 * sigma, (shown, expected, sigma)


@given(st.integers(0, BUCKETS), st.integers(0, BUCKETS), st.text(min_size=1, max_size=20))
def test_a_higher_percentage_only_adds_users(first: int, second: int, salt: str) -> None:
    low, high = sorted((first, second))
    users = [f"user-{n}" for n in range(500)]
    shown_low = {
        u for u in users if rules(low, salt=salt).explain(user_id=u, country="US", seller_id=SELLER).shown
    }
    shown_high = {
        u for u in users if rules(high, salt=salt).explain(user_id=u, country="US", seller_id=SELLER).shown
    }
    assert shown_low <= shown_high


@given(
    st.one_of(st.none(), st.from_regex(r"[A-Z]{2}", fullmatch=True).filter(lambda c: c != "US")),
    st.text(min_size=1, max_size=30),
)
def test_no_user_outside_the_allowed_countries_gets_the_button(country: str | None, user_id: str) -> None:
    assert not rules(BUCKETS).explain(user_id=user_id, country=country, seller_id=SELLER).shown


def test_fail_closed_kill_switch_sellers_and_overrides() -> None:
    assert not decide(None, user_id="anyone", country="US", seller_id=SELLER).shown
    everyone = rules(BUCKETS)
    assert everyone.explain(user_id="ada", country="US", seller_id=SELLER).shown
    assert not everyone.explain(user_id="ada", country="US", seller_id="merchant-unlisted").shown
    assert rules(0).explain(user_id="employee-grace", country="FR", seller_id=SELLER).shown
    killed = rules(BUCKETS, kill_switch=True)
    assert not killed.explain(user_id="employee-grace", country="US", seller_id=SELLER).shown
    assert "kill switch" in killed.explain(user_id="ada", country="US", seller_id=SELLER).reason


@given(
    st.integers(0, BUCKETS),
    st.text(max_size=20),
    st.sampled_from(["US", "FR", None]),
    st.sampled_from([SELLER, "merchant-unlisted"]),
    st.booleans(),
)
def test_the_fast_answer_and_the_explained_one_agree(
    percentage: int, user_id: str, country: str | None, seller: str, killed: bool
) -> None:
    gate = rules(percentage, kill_switch=killed)
    explained = gate.explain(user_id=user_id, country=country, seller_id=seller)
    assert gate.shows(user_id, country, seller) is explained.shown


def test_another_process_computes_the_same_buckets() -> None:
    program = (
        "from buybutton.rollout import bucket; "
        "print(','.join(str(bucket('2014-09-08', f'user-{n}')) for n in range(10000)))"
    )
    other = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    )
    here = [bucket("2014-09-08", f"user-{n}") for n in range(10_000)]
    assert [int(b) for b in other.stdout.strip().split(",")] == here
    assert len(set(here)) > 5_000, "buckets spread over the range"
