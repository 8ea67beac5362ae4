"""What admins send and what they get back over HTTP. Bodies are StrictInput (unknown fields
refused, 422 with field-level messages that never echo the input); numbers and switches must
be JSON numbers and booleans, not strings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field, StrictBool, model_validator

from buybutton.events import RolloutChanged
from buybutton.events.envelope import Identifier
from buybutton.events.rollout import CountryCode
from buybutton.inputs import StrictInput
from rollout_service.commands import MAX_ENTRIES, MAX_ENTRIES_PER_CHANGE

Percentage = Annotated[int, Field(ge=0, le=10_000, strict=True, description="basis points: 100 = 1 %")]
Countries = Annotated[list[CountryCode], Field(max_length=300, description="ISO 3166-1 alpha-2, upper case")]
Names = Annotated[list[Identifier], Field(max_length=MAX_ENTRIES)]
SomeNames = Annotated[list[Identifier], Field(max_length=MAX_ENTRIES_PER_CHANGE)]


class RuleIn(StrictInput):
    """A whole rule, replacing every field: what is left out takes its default (countries US,
    no sellers, no overrides, kill switch off). The salt is fixed at creation; leave it out to
    keep it (or have one drawn); ``reshuffle`` with a new salt changes it on purpose."""

    countries: Countries = Field(default_factory=lambda: ["US"])
    percentage_bps: Percentage
    allowed_sellers: Names = Field(default_factory=list)
    override_users: Names = Field(default_factory=list)
    kill_switch: StrictBool = False
    salt: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    reshuffle: StrictBool = Field(default=False, description="true to change the salt on purpose")

    @model_validator(mode="after")
    def _reshuffle_needs_a_salt(self) -> Self:
        if self.reshuffle and self.salt is None:
            raise ValueError("reshuffle needs the new salt")
        return self


class PercentageIn(StrictInput):
    percentage_bps: Percentage


class CountriesIn(StrictInput):
    countries: Countries


class KillSwitchIn(StrictInput):
    on: StrictBool


class ListChangeIn(StrictInput):
    add: SomeNames = Field(default_factory=list)
    remove: SomeNames = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_thing_at_a_time(self) -> Self:
        if not self.add and not self.remove:
            raise ValueError("nothing to add or remove")
        if set(self.add) & set(self.remove):
            raise ValueError("the same name is both added and removed")
        return self


class RuleOut(BaseModel):
    rule_name: str
    countries: list[str]
    percentage_bps: int
    allowed_sellers: list[str]
    override_users: list[str]
    kill_switch: bool
    salt: str
    version: str = Field(description="event_id of the RolloutChanged in force")
    changed_at: datetime
    changed_by: str
    command_id: str | None

    @classmethod
    def of(cls, event: RolloutChanged) -> RuleOut:
        return cls(
            **event.model_dump(
                include={"rule_name", "countries", "percentage_bps", "allowed_sellers"}
                | {"override_users", "kill_switch", "salt", "changed_by"}
            ),
            version=event.event_id,
            changed_at=event.occurred_at,
            command_id=event.causation_id,
        )


class Accepted(BaseModel):
    command_id: str
    status: str = "accepted"
    detail: str = "the change is queued; GET the rule to see it once applied"


class Explanation(BaseModel):
    rule_name: str
    shown: bool
    reason: str
    bucket: int | None = Field(description="the user's bucket, 0..9999, when the rule is known")
    percentage_bps: int | None
    rules_version: str | None = Field(description="event_id of the rule decided with")
    rules_changed_at: datetime | None
