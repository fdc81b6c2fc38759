"""The staged rollout over HTTP (admin token): status, approve, hold, roll back, GO/NO-GO,
the launch checklist's drills (a test alert, a kill-switch drill), and the blue-green deploy
past one machine: its status (who rolled it back and why) and a rollback."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from rampart.api.auth import Admin
from rampart.api.errors import ApiError
from rampart.api.routes_admin import CONFLICT, ERRORS, REFUSED

if TYPE_CHECKING:
    from rampart.rollout.desk import RolloutDesk

router = APIRouter(prefix="/api/v1/admin", tags=["rollout"], responses=ERRORS)


class _Body(BaseModel):
    model_config = {"extra": "forbid"}


class ApproveIn(_Body):
    pass


class HoldIn(_Body):
    reason: str = Field(min_length=1, max_length=500)
    release: bool = False
    """True lifts a hold instead of placing one."""


class RollbackIn(_Body):
    reason: str = Field(min_length=1, max_length=500)


_DEPLOY_REFUSED: dict[int | str, dict[str, Any]] = {code: said for code, said in REFUSED.items()}


class DeployRollbackIn(_Body):
    reason: str = Field(min_length=1, max_length=500)


def _rollout(request: Request) -> RolloutDesk:
    desk: RolloutDesk = request.app.state.ctx.rollout
    return desk


def _status(desk: RolloutDesk) -> dict[str, Any]:
    return {
        **desk.status().to_dict(),
        "transitions": [t.to_dict() for t in desk.transitions(20)],
    }


@router.get("/rollout", summary="The stage in force, its time served and recent transitions")
async def rollout_status(request: Request, who: Admin) -> Any:
    del who
    return _status(_rollout(request))


@router.post(
    "/rollout/approve",
    summary="Approve the promotion waiting for an operator",
    responses={**REFUSED, **CONFLICT},
)
async def approve(request: Request, body: ApproveIn, who: Admin) -> Any:
    del body
    ctl = _rollout(request)
    await ctl.approve(who.actor)
    return _status(ctl)


@router.post(
    "/rollout/hold",
    summary="Hold the stage (no promotion), or lift a hold with release: true",
    responses={**REFUSED, **CONFLICT},
)
async def hold(request: Request, body: HoldIn, who: Admin) -> Any:
    ctl = _rollout(request)
    await ctl.hold(who.actor, body.reason, body.release)
    return _status(ctl)


@router.post(
    "/rollout/rollback",
    summary="Step back one stage now; accounts outside it close only",
    responses={**REFUSED, **CONFLICT},
)
async def rollback(request: Request, body: RollbackIn, who: Admin) -> Any:
    ctl = _rollout(request)
    await ctl.rollback(who.actor, body.reason)
    return _status(ctl)


@router.get("/go-nogo", summary="Every launch criterion: measured, threshold, verdict")
async def gonogo(request: Request, who: Admin) -> Any:
    del who
    return _rollout(request).go_nogo(request.app.state.ctx.settings).to_dict()


@router.post(
    "/alerts/test",
    summary="Send a test alert to every channel (recorded for GO/NO-GO when all delivered)",
    responses={502: {"description": "A channel did not deliver; the reason names it."}},
)
async def alerts_test(request: Request, who: Admin) -> Any:
    ctx = request.app.state.ctx
    fanout = ctx.alerts.notifier if ctx.alerts is not None else None
    from rampart.observability.notify import NotifyError

    try:
        result = await ctx.rollout.alert_test(ctx.settings.alerts, who.actor, fanout)
    except NotifyError as exc:
        raise ApiError(502, f"The test alert was not delivered everywhere: {exc.message}") from None
    return result.to_dict()


@router.post(
    "/drills/kill-switch",
    summary="Kill-switch drill: engage (no flatten) and release at once; recorded",
    responses=CONFLICT,
)
async def drill(request: Request, who: Admin) -> Any:
    ctx = request.app.state.ctx
    result = await ctx.rollout.kill_drill(ctx.operator, who.actor)
    return result.to_dict()


@router.get("/deploy", summary="The blue-green deploy: its step, shards per version and gates")
async def deploy_status(request: Request, who: Admin) -> Any:
    del who
    desk: RolloutDesk = request.app.state.ctx.rollout
    view = await asyncio.to_thread(desk.fleet)
    if view is None or view.deploy is None:
        return {"deploy": None, "shards_by_version": {} if view is None else view.by_version}
    deploy, check = view.deploy, view.check
    return {
        "deploy": deploy.to_dict(),
        "fraction": deploy.fraction,
        "rolled_back_by_gates": deploy.rolled_back_by_gates,
        "shards_by_version": view.by_version,
        "shards_unheld": view.unheld,
        "gates": [] if check is None else [r.evidence() for r in check.results],
        "ready": None if check is None else check.ready,
    }


@router.post(
    "/deploy/rollback",
    summary="Every shard and the API traffic back to the old version (audited)",
    responses=_DEPLOY_REFUSED,
)
async def deploy_rollback(request: Request, body: DeployRollbackIn, who: Admin) -> Any:
    desk: RolloutDesk = request.app.state.ctx.rollout
    back, balancer = await asyncio.to_thread(desk.deploy_rollback, who.actor, body.reason)
    return {"deploy": back.to_dict(), "fraction": back.fraction, "balancer": balancer}
