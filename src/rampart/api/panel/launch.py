"""The Launch page: the staged rollout (approve, hold, roll back), the GO/NO-GO table with its
evidence, and the launch checklist's drills with when each last ran.

It reads what ``GET /admin/rollout`` and ``GET /admin/go-nogo`` send, and acts through the
rollout controller and the drills as those routes and the bot do, with the bot's sentences.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rampart.api.errors import ApiError
from rampart.api.panel.actions import Action, action
from rampart.api.panel.sessions import PanelSession
from rampart.api.panel.web import Who, ctx_of, render
from rampart.api.routes_rollout import _rollout, _status
from rampart.operator import ops as ops_records

router = APIRouter(include_in_schema=False)
DRILLS = (
    (ops_records.ALERT_TEST, "Test alert to every channel", "drill-alert", "Send test alert"),
    (ops_records.KILL_DRILL, "Kill-switch drill", "drill-kill", "Run kill-switch drill"),
    (ops_records.RESTORE_DRILL, "Backup restore drill", None, None),
)


def _drills(ctx: Any) -> list[dict[str, Any]]:
    rows = []
    for kind, title, act, button in DRILLS:
        last = ctx.operator.last_event(kind)
        rows.append(
            {
                "kind": kind,
                "title": title,
                "action": act,
                "button": button,
                "last": None if last is None else {"ts": last.ts, "actor": last.actor},
            }
        )
    return rows


@router.get("/panel/launch")
async def launch(request: Request, who: Who) -> Response:
    if not who.reads_all:
        return render(request, "missing.html", who, status=403, what=None)
    ctx = ctx_of(request)
    desk = _rollout(request)
    status = await asyncio.to_thread(_status, desk)
    report = await asyncio.to_thread(lambda: desk.go_nogo(ctx.settings).to_dict())
    drills = await asyncio.to_thread(_drills, ctx)
    return render(request, "launch.html", who, s=status, g=report, drills=drills)


async def _approve(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    return (await _rollout(request).approve(who.actor)).message


async def _hold(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    return (await _rollout(request).hold(who.actor, f.get("reason", ""), False)).message


async def _lift(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    return (await _rollout(request).hold(who.actor, f.get("reason", ""), True)).message


async def _rollback(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    return (await _rollout(request).rollback(who.actor, f.get("reason", ""))).message


async def _alert_test(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    from rampart.observability.notify import NotifyError

    ctx = ctx_of(request)
    fanout = ctx.alerts.notifier if ctx.alerts is not None else None
    try:
        done = await ctx.rollout.alert_test(ctx.settings.alerts, who.actor, fanout)
    except NotifyError as exc:
        raise ApiError(502, f"The test alert was not delivered everywhere: {exc.message}") from None
    return done.message


async def _kill_drill(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    ctx = ctx_of(request)
    done = await ctx.rollout.kill_drill(ctx.operator, who.actor)
    return done.message


for made in (
    Action(
        "rollout-approve",
        "Approve stage",
        "Promote to the next stage now: its accounts, symbols and capital bounds apply at once.",
        _approve,
        "/panel/launch",
    ),
    Action(
        "rollout-hold",
        "Hold",
        "No promotion of this stage until the hold is lifted (gates still measure; a failing "
        "gate still rolls back).",
        _hold,
        "/panel/launch",
        reason="",
    ),
    Action(
        "rollout-release",
        "Lift hold",
        "Promotions of this stage may go ahead again when its gates pass.",
        _lift,
        "/panel/launch",
        reason="",
        danger=False,
    ),
    Action(
        "rollout-rollback",
        "Roll back",
        "Step back one stage now; accounts outside the earlier stage may only close positions.",
        _rollback,
        "/panel/launch",
        reason="",
    ),
    Action(
        "drill-alert",
        "Send test alert",
        "Send a test notice to every alert channel; recorded for GO/NO-GO when all delivered.",
        _alert_test,
        "/panel/launch",
        danger=False,
    ),
    Action(
        "drill-kill",
        "Run kill-switch drill",
        "Engage the kill switch (no flatten) and release it at once; recorded for GO/NO-GO. "
        "Working entry orders are canceled.",
        _kill_drill,
        "/panel/launch",
    ),
):
    action(made)
