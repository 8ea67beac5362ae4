"""Events written by rollout-service to the compacted rollout topic, keyed by rule name."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from buybutton.events.envelope import Event, Identifier
from buybutton.money import BasisPoints

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


class RolloutChanged(Event):
    """A new gate configuration. The newest record per rule name is the rule in force."""

    key_field = "rule_name"
    event_type: Literal["RolloutChanged"] = "RolloutChanged"
    schema_version: Literal[1] = 1

    rule_name: Identifier
    countries: list[CountryCode] = Field(default_factory=list)
    percentage_bps: BasisPoints = Field(description="exposure in basis points of all users")
    allowed_sellers: list[Identifier] = Field(default_factory=list)
    override_users: list[Identifier] = Field(default_factory=list)
    kill_switch: bool = False
    salt: str = Field(min_length=1, max_length=64)
    changed_by: Identifier
