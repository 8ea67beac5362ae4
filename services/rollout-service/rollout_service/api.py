"""rollout-service's admin API. Every route but /healthz needs an admin token for this
audience; changes need the scope rollout:write, reads and explanations rollout:read.

    GET  /v1/rules/{rule}               the rule in force                        read   200 | 404
    PUT  /v1/rules/{rule}               create or replace the whole rule         write  200 | 202 | 409
    PUT  /v1/rules/{rule}/percentage    {"percentage_bps": 250}                  write  200 | 202 | 404
    PUT  /v1/rules/{rule}/countries     {"countries": ["US", "CA"]}              write  200 | 202 | 404
    PUT  /v1/rules/{rule}/kill-switch   {"on": true}                             write  200 | 202 | 404
    POST /v1/rules/{rule}/sellers       {"add": [...], "remove": [...]}          write  200 | 202 | 404
    POST /v1/rules/{rule}/overrides     {"add": [...], "remove": [...]}          write  200 | 202 | 404
    GET  /v1/rules/{rule}/changes       the audit trail, newest first            read   200
    GET  /v1/explain?user_id=&country=&seller_id=[&rule_name=buy-button]        read   200
A change answers 200 with the new rule once it is in force, 409 when refused, or 202 with the
command id when it is not applied within ROLLOUT_COMMAND_TIMEOUT_S.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from buybutton.auth import Principal, require
from rollout_service.commands import (
    ChangeOverrides,
    ChangeSellers,
    ReplaceRule,
    SetCountries,
    SetKillSwitch,
    SetPercentage,
)
from rollout_service.inputs import (
    CountriesIn,
    Explanation,
    KillSwitchIn,
    ListChangeIn,
    PercentageIn,
    RuleIn,
    RuleOut,
)
from rollout_service.routes import (
    ANSWERS,
    RuleName,
    Writer,
    explain_decision,
    rule_in_force,
    state,
    submit,
    submit_replacement,
)

router = APIRouter(prefix="/v1")
Reader = Annotated[Principal, Depends(require("admin", scopes=["rollout:read"]))]
Identifier = Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
DEFAULT_RULE = "buy-button"
CHANGE: dict[str, Any] = {"response_model": RuleOut, "responses": ANSWERS}


@router.get("/rules/{rule_name}", summary="The rule in force; admin with rollout:read")
def get_rule(rule_name: RuleName, _: Reader, request: Request) -> RuleOut:
    return RuleOut.of(rule_in_force(request, rule_name))


@router.put("/rules/{rule_name}", **CHANGE, summary="Create or replace the rule; admin with rollout:write")
async def put_rule(rule_name: RuleName, body: RuleIn, admin: Writer, request: Request) -> Any:
    change = ReplaceRule(**body.model_dump())
    return await submit_replacement(request, admin, rule_name, change)


@router.put("/rules/{rule_name}/percentage", **CHANGE, summary="Set the percentage; write")
async def set_percentage(rule_name: RuleName, body: PercentageIn, admin: Writer, request: Request) -> Any:
    return await submit(request, admin, rule_name, SetPercentage(percentage_bps=body.percentage_bps))


@router.put("/rules/{rule_name}/countries", **CHANGE, summary="Set the countries; write")
async def set_countries(rule_name: RuleName, body: CountriesIn, admin: Writer, request: Request) -> Any:
    return await submit(request, admin, rule_name, SetCountries(countries=body.countries))


@router.put("/rules/{rule_name}/kill-switch", **CHANGE, summary="Turn the kill switch on or off; write")
async def set_kill_switch(rule_name: RuleName, body: KillSwitchIn, admin: Writer, request: Request) -> Any:
    return await submit(request, admin, rule_name, SetKillSwitch(on=body.on))


@router.post("/rules/{rule_name}/sellers", **CHANGE, summary="Add or remove allow-listed sellers; write")
async def change_sellers(rule_name: RuleName, body: ListChangeIn, admin: Writer, request: Request) -> Any:
    return await submit(request, admin, rule_name, ChangeSellers(add=body.add, remove=body.remove))


@router.post("/rules/{rule_name}/overrides", **CHANGE, summary="Add or remove override users; write")
async def change_overrides(rule_name: RuleName, body: ListChangeIn, admin: Writer, request: Request) -> Any:
    return await submit(request, admin, rule_name, ChangeOverrides(add=body.add, remove=body.remove))


@router.get("/rules/{rule_name}/changes", summary="The audit trail, newest first; admin with rollout:read")
def list_changes(
    rule_name: RuleName, _: Reader, request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    return state(request).audit.recent(rule_name, limit=limit)


@router.get("/explain", summary="Why a user sees the button or not; admin with rollout:read")
def explain(
    _: Reader,
    request: Request,
    user_id: Identifier,
    seller_id: Identifier,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    rule_name: Identifier = DEFAULT_RULE,
) -> Explanation:
    replica = state(request).replica
    return explain_decision(replica, rule_name, user_id=user_id, country=country, seller_id=seller_id)
