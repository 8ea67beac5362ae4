"""checkout's view of each merchant's selling terms, from MerchantProfileChanged on the
compacted tweet.merchants.v1: the Stripe connected account that receives a sale and the
platform fee (basis points) kept on it.

Document ``merchant_terms/{merchant_id}``: name, stripe_account_id, fee_bps, source_sequence.
Applied through the unit of work with the event's id as the cause; the highest ``sequence``
wins, so a replay of the compacted topic or a late older record changes nothing. Produces no
events.
"""

from __future__ import annotations

from buybutton.events import MerchantProfileChanged
from buybutton.unit_of_work import Aggregate, Change

COLLECTION = "merchant_terms"


def apply_profile(merchant: Aggregate, event: MerchantProfileChanged) -> Change | None:
    applied = int((merchant.state or {}).get("source_sequence", 0))
    if event.sequence is not None and event.sequence <= applied:
        return None
    state = {
        "name": event.name,
        "stripe_account_id": event.stripe_account_id,
        "fee_bps": event.fee_bps,
        "source_sequence": event.sequence if event.sequence is not None else applied,
    }
    return Change(state)
