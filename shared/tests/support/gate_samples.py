"""The sample rollout rule the services' tests open the gate with: Puddle & Co. allow-listed,
every US buyer shown the button; ``rules(**changes)`` varies it."""

from __future__ import annotations

from typing import Any

from buybutton.events import RolloutChanged

PUDDLE = "merchant-puddle-and-co"
RULE = "buy-button"


def rules(**changes: Any) -> RolloutChanged:
    fields: dict[str, Any] = {
        "rule_name": RULE,
        "correlation_id": RULE,
        "producer": "rollout-service",
        "countries": ["US"],
        "percentage_bps": 10_000,
        "allowed_sellers": [PUDDLE],
        "salt": "2014-09-08",
        "changed_by": "admin-grace",
        **changes,
    }
    return RolloutChanged(**fields)
