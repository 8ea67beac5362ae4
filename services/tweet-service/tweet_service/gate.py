"""The rollout gate as tweet-service applies it, from its local replica of the rules topic:
whether a buyer sees the Buy button on a seller's tweet, and whether a seller may attach
products at all (allow-listed by the rule in force). Unknown rules fail closed."""

from __future__ import annotations

from fastapi import Request

from buybutton.auth import Principal
from buybutton.rollout import GateRules


def rules_in_force(request: Request) -> GateRules | None:
    return request.app.state.rules_replica.rules(request.app.state.rollout_rule)  # type: ignore[no-any-return]


def shows_button(rules: GateRules | None, buyer: Principal, seller_id: str) -> bool:
    return rules is not None and rules.shows(buyer.subject, buyer.country, seller_id)


def may_sell(rules: GateRules | None, merchant_id: str) -> bool:
    return rules is not None and merchant_id in rules.allowed_sellers
