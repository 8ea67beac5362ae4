"""The rule change as a pure function, and the parsing of command records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from buybutton.events import RolloutChanged
from rollout_service.commands import (
    MAX_ENTRIES,
    Change,
    ChangeOverrides,
    ChangeSellers,
    ReplaceRule,
    RolloutCommand,
    SetCountries,
    SetKillSwitch,
    SetPercentage,
)
from rollout_service.processor import PoisonCommand, parse_command
from rollout_service.rules import RuleRejected, apply_command, event_id_for

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ACME = ReplaceRule(
    countries=["US", "US"],
    percentage_bps=1_000,
    allowed_sellers=["zed-shop", "acme-store"],
    override_users=[],
    kill_switch=False,
    salt="pepper",
)


def command(change: Change, *, rule_name: str = "buy-button") -> RolloutCommand:
    return RolloutCommand(rule_name=rule_name, issued_by="ada-admin", change=change)


def apply(current: RolloutChanged | None, change: Change) -> RolloutChanged:
    return apply_command(current, command(change), producer="rollout-service", now=NOW)


def test_creating_a_rule_states_every_field_sorted_and_says_who_and_why() -> None:
    created_by = command(ACME)
    event = apply_command(None, created_by, producer="rollout-service", now=NOW)
    assert event.countries == ["US"] and event.allowed_sellers == ["acme-store", "zed-shop"]
    assert event.percentage_bps == 1_000 and event.salt == "pepper" and not event.kill_switch
    assert event.changed_by == "ada-admin" and event.causation_id == created_by.command_id
    assert event.event_id == event_id_for(created_by.command_id) and event.occurred_at == NOW
    assert event.correlation_id == event.rule_name == "buy-button"


def test_a_salt_is_drawn_at_creation_the_same_on_replay_and_kept_afterwards() -> None:
    unsalted = command(ACME.model_copy(update={"salt": None}))
    first = apply_command(None, unsalted, producer="rollout-service", now=NOW)
    again = apply_command(None, unsalted, producer="rollout-service", now=NOW)
    assert first == again and len(first.salt) == 16
    assert apply(None, ACME.model_copy(update={"salt": None})).salt != first.salt
    replaced = apply(first, ACME.model_copy(update={"salt": None, "percentage_bps": 5}))
    assert replaced.salt == first.salt and replaced.percentage_bps == 5


def test_the_salt_changes_only_with_reshuffle() -> None:
    current = apply(None, ACME)
    with pytest.raises(RuleRejected, match="reshuffle"):
        apply(current, ACME.model_copy(update={"salt": "salt-2"}))
    assert apply(current, ACME.model_copy(update={"salt": "salt-2", "reshuffle": True})).salt == "salt-2"
    assert apply(current, ACME).salt == "pepper"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (SetPercentage(percentage_bps=2_500), {"percentage_bps": 2_500}),
        (SetCountries(countries=["CA", "US", "CA"]), {"countries": ["CA", "US"]}),
        (SetKillSwitch(on=True), {"kill_switch": True}),
        (
            ChangeSellers(add=["bolt-books"], remove=["zed-shop"]),
            {"allowed_sellers": ["acme-store", "bolt-books"]},
        ),
        (ChangeSellers(remove=["not-there"]), {"allowed_sellers": ["acme-store", "zed-shop"]}),
        (ChangeOverrides(add=["grace", "ada"]), {"override_users": ["ada", "grace"]}),
    ],
)
def test_a_partial_change_changes_its_field_and_keeps_the_others(
    change: Change, expected: dict[str, object]
) -> None:
    current = apply(None, ACME)
    changed = apply(current, change)
    fields = ("countries", "percentage_bps", "allowed_sellers", "override_users", "kill_switch", "salt")
    before, after = current.model_dump(include=set(fields)), changed.model_dump(include=set(fields))
    assert after == {**before, **expected}


def test_a_partial_change_needs_a_rule_and_lists_stay_bounded() -> None:
    with pytest.raises(RuleRejected, match="no such rule"):
        apply(None, SetPercentage(percentage_bps=5))
    full = apply(None, ACME.model_copy(update={"allowed_sellers": [f"s-{n}" for n in range(MAX_ENTRIES)]}))
    with pytest.raises(RuleRejected, match="more than"):
        apply(full, ChangeSellers(add=["one-too-many"]))


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        (b"buy-button", None, "no value"),
        (b"buy-button", b"\xff\xfe", "Invalid JSON"),
        (b"buy-button", b"[1, 2]", "an object"),
        (
            b"buy-button",
            b'{"rule_name": "buy-button", "issued_by": "a", "change": {"action": "x"}}',
            "change",
        ),
        (b"another-gate", command(SetPercentage(percentage_bps=5)).to_record()[1], "key"),
    ],
)
def test_unreadable_command_records_are_poison(key: bytes, value: bytes | None, why: str) -> None:
    with pytest.raises(PoisonCommand, match=why):
        parse_command(key, value)


def test_a_command_record_round_trips() -> None:
    sent = command(SetKillSwitch(on=True))
    assert parse_command(*sent.to_record()) == sent
