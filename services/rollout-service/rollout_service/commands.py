"""The commands admins' changes travel as on ``rollout.commands.v1`` (keyed by rule name, one
partition, so one order for every change of a rule). Written by this service's API, read by its
rules processor; no other service reads them.

On the wire a command is plain JSON parsed with these pydantic models (never faust.Record), and
the change it carries is told apart by its ``action``. Readers ignore unknown fields.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from buybutton.events.envelope import Identifier, UtcDatetime, utc_now
from buybutton.events.rollout import CountryCode
from buybutton.money import BasisPoints
from buybutton.sensitive import card_free

# Kafka takes records of 1 MB at most (the producers' max_request_size). Two full lists of
# 2 500 names of up to 128 characters make about 660 KB, so a whole rule, as a replace command
# or as its RolloutChanged, always fits; rules.apply_command also checks the bytes.
MAX_ENTRIES = 2_500  # per list in a rule
MAX_ENTRIES_PER_CHANGE = 1_000
MAX_RULE_BYTES = 900_000

Names = Annotated[list[Identifier], Field(max_length=MAX_ENTRIES)]
Countries = Annotated[list[CountryCode], Field(max_length=300)]


class _Change(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ReplaceRule(_Change):
    """Create the rule, or replace every field of it. ``salt`` None keeps the salt in force
    (or draws one at creation); another salt than the one in force needs ``reshuffle``."""

    action: Literal["replace"] = "replace"
    countries: Countries
    percentage_bps: BasisPoints
    allowed_sellers: Names
    override_users: Names
    kill_switch: bool
    salt: str | None = Field(default=None, min_length=1, max_length=64)
    reshuffle: bool = False


class SetPercentage(_Change):
    action: Literal["set_percentage"] = "set_percentage"
    percentage_bps: BasisPoints


class ChangeSellers(_Change):
    action: Literal["change_sellers"] = "change_sellers"
    add: Names = Field(default_factory=list)
    remove: Names = Field(default_factory=list)


class ChangeOverrides(_Change):
    action: Literal["change_overrides"] = "change_overrides"
    add: Names = Field(default_factory=list)
    remove: Names = Field(default_factory=list)


class SetCountries(_Change):
    action: Literal["set_countries"] = "set_countries"
    countries: Countries


class SetKillSwitch(_Change):
    action: Literal["set_kill_switch"] = "set_kill_switch"
    on: bool


Change = Annotated[
    ReplaceRule | SetPercentage | ChangeSellers | ChangeOverrides | SetCountries | SetKillSwitch,
    Field(discriminator="action"),
]


def new_command_id() -> str:
    return card_free(lambda: str(uuid.uuid4()))


class RolloutCommand(BaseModel):
    """One admin's change of one rule, as accepted by the API."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: Literal[1] = 1
    command_id: str = Field(default_factory=new_command_id, min_length=1, max_length=64)
    rule_name: Identifier
    issued_by: Identifier = Field(description="the admin's token subject")
    issued_at: UtcDatetime = Field(default_factory=utc_now)
    change: Change

    def to_record(self) -> tuple[bytes, bytes]:
        """(key, value) of the command's Kafka record."""
        return self.rule_name.encode(), self.model_dump_json().encode()
