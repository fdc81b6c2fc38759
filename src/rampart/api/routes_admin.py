"""The operator's endpoints (admin token): kill switch, accounts, engines, incidents, config."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request

from rampart.api.auth import AccountId, Admin
from rampart.api.schemas import (
    AccountActionOut,
    AccountOut,
    AccountsOut,
    AlertRulesOut,
    ConfigOut,
    ErrorBody,
    IncidentOut,
    IncidentsOut,
    KillSwitchIn,
    KillSwitchOut,
    KillSwitchState,
    Limit,
    PauseIn,
    ReleaseIn,
    ResumeIn,
    StartEngineIn,
    StartEngineOut,
    StopEngineIn,
)
from rampart.operator.control import Operator
from rampart.settings_base import masked_dump


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("No token, or not a valid one."),
    403: _err("The token is not an admin token."),
    422: _err("The request is not valid."),
    429: _err("Too many requests with this token."),
}
MISSING = {404: _err("No such account or incident.")}
REFUSED = {400: _err("The command was refused; the reason says why.")}
CONFLICT = {409: _err("The command does not apply in the current state.")}
STORE = {503: _err("The database cannot be reached right now.")}

router = APIRouter(prefix="/api/v1/admin", tags=["operator"], responses=ERRORS)


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


def _operator(request: Request) -> Operator:
    return _ctx(request).operator


@router.post(
    "/kill-switch",
    response_model=KillSwitchOut,
    summary="Engage the kill switch: no new entries anywhere, optionally flatten",
    responses=REFUSED,
)
async def engage(request: Request, body: KillSwitchIn, who: Admin) -> Any:
    result = await _operator(request).engage_kill_switch(who.actor, body.reason, body.flatten)
    return KillSwitchOut.model_validate(result)


@router.post(
    "/kill-switch/release",
    response_model=KillSwitchOut,
    summary="Release the kill switch",
    responses={**REFUSED, **CONFLICT},
)
async def release(request: Request, body: ReleaseIn, who: Admin) -> Any:
    result = await _operator(request).release_kill_switch(who.actor, body.reason)
    return KillSwitchOut.model_validate(result)


@router.get("/accounts", response_model=AccountsOut, summary="Every running account")
async def accounts(request: Request, who: Admin) -> Any:
    operator = _operator(request)
    kill = operator.kill_switch()
    return AccountsOut(
        kill_switch=KillSwitchState(engaged=kill.engaged, reason=kill.reason),
        accounts=[AccountOut.model_validate(a) for a in operator.accounts()],
    )


@router.post(
    "/accounts/{account_id}/pause",
    response_model=AccountActionOut,
    summary="Pause one account (no new entries), optionally flatten",
    responses={**MISSING, **REFUSED},
)
async def pause(request: Request, account_id: AccountId, body: PauseIn, who: Admin) -> Any:
    result = await _operator(request).pause_account(
        account_id, who.actor, body.reason, body.flatten
    )
    return AccountActionOut.model_validate(result)


@router.post(
    "/accounts/{account_id}/resume",
    response_model=AccountActionOut,
    summary="Resume a paused account, optionally lifting a breaker halt",
    responses={**MISSING, **REFUSED, **CONFLICT},
)
async def resume(request: Request, account_id: AccountId, body: ResumeIn, who: Admin) -> Any:
    result = await _operator(request).resume_account(
        account_id, who.actor, body.reason, body.lift_breakers
    )
    return AccountActionOut.model_validate(result)


@router.post(
    "/engines/start",
    response_model=StartEngineOut,
    status_code=201,
    summary="Start an engine: a new operator account trading one symbol",
    responses=REFUSED,
)
async def start_engine(request: Request, body: StartEngineIn, who: Admin) -> Any:
    summary = await _operator(request).start_engine(
        body.symbol, body.mode, body.capital, who.actor, body.agent, body.profile
    )
    return StartEngineOut(
        account=AccountOut.model_validate(summary),
        message=f"Engine {summary.account_id} started on {summary.symbols[0]} "
        f"with {summary.capital} {summary.quote}.",
    )


@router.post(
    "/engines/{account_id}/stop",
    response_model=AccountActionOut,
    summary="Stop an engine: pause it for good and close its positions",
    responses={**MISSING, **REFUSED, **CONFLICT},
)
async def stop_engine(
    request: Request,
    account_id: AccountId,
    who: Admin,
    body: Annotated[StopEngineIn | None, Body()] = None,
) -> Any:
    reason = body.reason if body is not None else StopEngineIn().reason
    result = await _operator(request).stop_engine(account_id, who.actor, reason)
    return AccountActionOut.model_validate(result)


IncidentStatus = Literal["open", "acknowledged", "resolved", "active"]


@router.get(
    "/incidents",
    response_model=IncidentsOut,
    summary="Incidents, newest first",
    responses=STORE,
)
async def incidents(
    request: Request,
    who: Admin,
    status: Annotated[IncidentStatus | None, Query(description="Filter by status.")] = None,
    limit: Limit = 100,
) -> Any:
    found = await _ctx(request).operator.incidents(status, limit)
    return IncidentsOut(incidents=[IncidentOut.model_validate(i.to_dict()) for i in found])


@router.post(
    "/incidents/{incident_id}/ack",
    response_model=IncidentOut,
    summary="Acknowledge an incident (its notices stop repeating)",
    responses={**MISSING, **CONFLICT, **STORE},
)
async def acknowledge(
    request: Request,
    who: Admin,
    incident_id: Annotated[int, Path(ge=1, le=2**62, description="The incident's id.")],
) -> Any:
    done = await _ctx(request).operator.acknowledge_incident(incident_id, who.actor)
    return IncidentOut.model_validate(done.to_dict())


@router.get("/alerts/rules", response_model=AlertRulesOut, summary="The alert rules in force")
async def alert_rules(request: Request, who: Admin) -> Any:
    engine = _ctx(request).alerts
    if engine is None:
        return AlertRulesOut(enabled=False, rules=[])
    return AlertRulesOut(enabled=True, rules=[rule.to_dict() for rule in engine.rules])


@router.get("/config", response_model=ConfigOut, summary="Effective settings, secrets masked")
async def config(request: Request, who: Admin) -> Any:
    return ConfigOut(settings=masked_dump(_ctx(request).settings))
