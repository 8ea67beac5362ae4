"""What the admin routes share: who may write, how a change is turned into a command and its
outcome into an answer (200 rule, 404, 409, 202), and the support explanation, decided with
``buybutton.rollout.decide`` on the replica's rules exactly as tweet-service decides. A rule name
holding card data answers 422 (never repeated), so it never becomes a Kafka key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse

from buybutton.auth import Principal, require
from buybutton.events import RolloutChanged
from buybutton.inputs import CardFree
from buybutton.rollout import bucket, decide
from rollout_service.audit import AuditTrail
from rollout_service.changes import Outcome, RuleChanges
from rollout_service.commands import Change, ReplaceRule, RolloutCommand
from rollout_service.inputs import Accepted, Explanation, RuleOut
from rollout_service.replica import RulesWatch

RuleName = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$"), CardFree]
ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"model": Accepted, "description": "queued, not yet applied within the deadline"},
    404: {"description": "no such rule (partial changes need an existing rule)"},
    409: {"description": "refused: the change cannot apply to the rule in force"},
}


@dataclass(frozen=True)
class RolloutState:
    replica: RulesWatch
    changes: RuleChanges
    audit: AuditTrail


def state(request: Request) -> RolloutState:
    return request.app.state.rollout  # type: ignore[no-any-return]


# the token verifier admits only subjects that are principal ids, fit for the audit trail and events
Writer = Annotated[Principal, Depends(require("admin", scopes=["rollout:write"]))]


def rule_in_force(request: Request, rule_name: str) -> RolloutChanged:
    event = state(request).replica.event(rule_name)
    if event is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such rule: create it with PUT first")
    return event


async def submit(request: Request, admin: Principal, rule_name: str, change: Change) -> Any:
    """A partial change, of an existing rule."""
    rule_in_force(request, rule_name)
    return await _answer(request, admin, rule_name, change)


async def submit_replacement(request: Request, admin: Principal, rule_name: str, change: ReplaceRule) -> Any:
    current = state(request).replica.event(rule_name)
    if current and change.salt and change.salt != current.salt and not change.reshuffle:
        raise _conflict("the salt is fixed at creation: changing it reshuffles every user (reshuffle)")
    return await _answer(request, admin, rule_name, change)


async def _answer(request: Request, admin: Principal, rule_name: str, change: Change) -> Any:
    command = RolloutCommand(rule_name=rule_name, issued_by=admin.subject, change=change)
    outcome: Outcome = await state(request).changes.submit(command)
    if outcome.event is not None:
        return RuleOut.of(outcome.event)
    if outcome.rejected is not None:
        raise _conflict(outcome.rejected)
    accepted = Accepted(command_id=outcome.command_id)
    return JSONResponse(status_code=status.HTTP_202_ACCEPTED, content=accepted.model_dump())


def _conflict(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail=reason)


def explain_decision(
    replica: RulesWatch, rule_name: str, *, user_id: str, country: str | None, seller_id: str
) -> Explanation:
    decision = decide(replica.rules(rule_name), user_id=user_id, country=country, seller_id=seller_id)
    event = replica.event(rule_name)
    return Explanation(
        rule_name=rule_name,
        shown=decision.shown,
        reason=decision.reason,
        bucket=bucket(event.salt, user_id) if event else None,
        percentage_bps=event.percentage_bps if event else None,
        rules_version=event.event_id if event else None,
        rules_changed_at=event.occurred_at if event else None,
    )
