"""The rule change itself, a pure function: the rule in force (or none) and one command in, the
next RolloutChanged out, or RuleRejected saying why not.

Rules kept: a partial change needs an existing rule; the salt is fixed at creation (drawn from
the command id when none is given, so a replayed command draws the same) and only a replace
with ``reshuffle`` may change it; lists are kept sorted and without duplicates, at most
MAX_ENTRIES long, and the whole rule at most MAX_RULE_BYTES (Kafka's records are 1 MB at most).
The event id is derived from the command id, so applying a command twice yields the same event.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from buybutton.events import RolloutChanged
from buybutton.kafka.codec import describe_validation_error
from buybutton.sensitive import card_free_derived
from rollout_service.commands import (
    MAX_ENTRIES,
    MAX_RULE_BYTES,
    Change,
    ChangeOverrides,
    ChangeSellers,
    ReplaceRule,
    RolloutCommand,
    SetCountries,
    SetKillSwitch,
    SetPercentage,
)

EVENT_IDS = uuid.UUID("6f1d9a52-1c55-4a1e-9d36-2b7f0e3c8a10")  # namespace of uuid5 event ids
RULE_FIELDS = ("countries", "percentage_bps", "allowed_sellers", "override_users", "kill_switch", "salt")


class RuleRejected(ValueError):
    """A valid command that cannot apply to the rule in force."""


def event_id_for(command_id: str) -> str:
    """A pure function of the command, never card-shaped (see buybutton.sensitive)."""
    return card_free_derived(
        lambda attempt: str(uuid.uuid5(EVENT_IDS, command_id if attempt == 0 else f"{command_id}/{attempt}"))
    )


def apply_command(
    current: RolloutChanged | None, command: RolloutCommand, *, producer: str, now: datetime
) -> RolloutChanged:
    fields = next_fields(current, command.change, command_id=command.command_id)
    for name in ("allowed_sellers", "override_users"):
        if len(fields[name]) > MAX_ENTRIES:
            raise RuleRejected(f"{name} would hold more than {MAX_ENTRIES} entries")
    try:
        event = RolloutChanged(
            event_id=event_id_for(command.command_id),
            occurred_at=now,
            correlation_id=command.rule_name,
            causation_id=command.command_id,
            producer=producer,
            rule_name=command.rule_name,
            changed_by=command.issued_by,
            **fields,
        )
    except ValidationError as error:
        raise RuleRejected(describe_validation_error(error)) from None
    if len(event.model_dump_json()) > MAX_RULE_BYTES:
        raise RuleRejected(f"the rule would take more than {MAX_RULE_BYTES} bytes")
    return event


def next_fields(current: RolloutChanged | None, change: Change, *, command_id: str) -> dict[str, Any]:
    if isinstance(change, ReplaceRule):
        return _replaced(current, change, command_id=command_id)
    if current is None:
        raise RuleRejected("no such rule: create it first (PUT the whole rule)")
    fields = current.model_dump(include=set(RULE_FIELDS))
    if isinstance(change, SetPercentage):
        fields["percentage_bps"] = change.percentage_bps
    elif isinstance(change, SetCountries):
        fields["countries"] = _normalised(change.countries)
    elif isinstance(change, SetKillSwitch):
        fields["kill_switch"] = change.on
    elif isinstance(change, ChangeSellers):
        fields["allowed_sellers"] = _edited(fields["allowed_sellers"], change.add, change.remove)
    elif isinstance(change, ChangeOverrides):
        fields["override_users"] = _edited(fields["override_users"], change.add, change.remove)
    return fields


def _replaced(current: RolloutChanged | None, change: ReplaceRule, *, command_id: str) -> dict[str, Any]:
    salt = change.salt or (current.salt if current else _drawn_salt(command_id))
    if current is not None and salt != current.salt and not change.reshuffle:
        raise RuleRejected("the salt is fixed at creation: changing it reshuffles every user (reshuffle)")
    return {
        "countries": _normalised(change.countries),
        "percentage_bps": change.percentage_bps,
        "allowed_sellers": _normalised(change.allowed_sellers),
        "override_users": _normalised(change.override_users),
        "kill_switch": change.kill_switch,
        "salt": salt,
    }


def _drawn_salt(command_id: str) -> str:
    """16 hex digits from the (random, uuid4) command id: unpredictable, yet the same on replay."""
    return hashlib.sha256(f"salt:{command_id}".encode()).hexdigest()[:16]


def _normalised(names: list[str]) -> list[str]:
    return sorted(set(names))


def _edited(names: list[str], add: list[str], remove: list[str]) -> list[str]:
    return sorted((set(names) | set(add)) - set(remove))
