"""Events written by vault-service to the vault topic, keyed by buyer_id. They carry no PII:
only that something happened, and the names (never the values) of the fields involved."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buybutton.events.envelope import Event, Identifier


class BuyerEvent(Event):
    key_field = "buyer_id"
    buyer_id: Identifier


class BuyerProfileSaved(BuyerEvent):
    """A buyer's profile was stored (encrypted) or updated."""

    event_type: Literal["BuyerProfileSaved"] = "BuyerProfileSaved"
    schema_version: Literal[1] = 1

    fields_saved: list[Identifier] = Field(description="names of the fields, never values")
    key_version: int = Field(ge=1)


class BuyerDataErased(BuyerEvent):
    """A buyer's data key and profile were destroyed (crypto-shredding)."""

    event_type: Literal["BuyerDataErased"] = "BuyerDataErased"
    schema_version: Literal[1] = 1
