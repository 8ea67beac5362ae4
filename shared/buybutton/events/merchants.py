"""Events written by tweet-service to the compacted merchants topic, keyed by merchant_id: the
selling terms checkout needs to charge for a merchant's sale (the Stripe connected account that
receives it and the platform fee kept on it). Never an API key or anything secret."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buybutton.events.envelope import Event, Identifier
from buybutton.money import BasisPoints


class MerchantProfileChanged(Event):
    """A partner merchant was registered, or its name or selling terms changed; the newest
    record per merchant is in force."""

    key_field = "merchant_id"
    event_type: Literal["MerchantProfileChanged"] = "MerchantProfileChanged"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    name: str = Field(min_length=1, max_length=100)
    stripe_account_id: str = Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$", description="connected account")
    fee_bps: BasisPoints = Field(description="platform fee kept on each sale, in basis points")
