"""The service at a glance (admin token): what the operator panel's Overview and its live
updates show, read here once so the panel and the API can never disagree.

``figures`` holds every headline figure as the exact string the panel prints (money as a
plain decimal string, counts as whole numbers), keyed by the name the panel's
``data-figure`` attribute carries.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from rampart.api.auth import Admin
from rampart.api.routes_admin import ERRORS
from rampart.domain.money import ZERO
from rampart.observability import incidents as incident_store
from rampart.rollout.rules.gates import ORDER_SUCCESS

router = APIRouter(prefix="/api/v1/admin", tags=["operator"], responses=ERRORS)


class HealthCheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class OverviewOut(BaseModel):
    figures: dict[str, str]
    """kill-switch, kill-reason, stage, equity-total, pnl-today, accounts, event-lag,
    order-success, alerts-firing, incidents-open."""
    ready: bool
    health: list[HealthCheckOut]
    as_of: int
    """Business time (UTC ms) of the figures: the last processed candle's clock."""


def _money(value: Decimal) -> str:
    return format(value, "f")


def _event_lag(ctx: Any) -> str:
    value = ctx.metrics.registry.get_sample_value("rampart_event_lag")
    return str(int(value or 0))


def _order_success(ctx: Any) -> str:
    """The order-success gate's measurement over the stage's window, as GO/NO-GO shows it."""
    ctl = ctx.rollout
    if ctl is None:
        return "—"
    _, results = ctl.measure()
    for result in results:
        if result.gate.metric == ORDER_SUCCESS:
            return str(result.gate.show(result.value))
    return "—"


def _stores(ctx: Any) -> tuple[str, int]:
    """What needs the database: the order-success figure and the open incidents (blocking)."""
    try:
        success = _order_success(ctx)
    except Exception:  # a store that is away must not blank the whole overview
        success = "—"
    try:
        db = ctx.session.db
        open_now = len(incident_store.list_incidents(db, "open", 1000))
    except Exception:
        open_now = -1
    return success, open_now


async def read_overview(ctx: Any) -> OverviewOut:
    """Every figure of the overview at one moment (the engine is read without an await
    between its figures, so they belong to the same candle)."""
    ok, checks = await ctx.health.ready()
    success, open_incidents = await asyncio.to_thread(_stores, ctx)
    views = ctx.views
    ids = views.account_ids()
    portfolios = [await views.portfolio(a) for a in ids]
    controls = ctx.operator.engine.controls
    status = ctx.rollout.status() if ctx.rollout is not None else None
    equity = sum((p.equity for p in portfolios), ZERO)
    pnl = sum((p.pnl_today for p in portfolios), ZERO)
    alerts = ctx.alerts
    figures = {
        "kill-switch": "engaged" if controls.global_kill else "released",
        "kill-reason": controls.global_reason or "",
        "stage": status.stage if status is not None else "—",
        "equity-total": _money(equity),
        "pnl-today": _money(pnl),
        "accounts": str(len(ids)),
        "event-lag": _event_lag(ctx),
        "order-success": success,
        "alerts-firing": str(len(alerts.active) if alerts is not None else 0),
        "incidents-open": str(open_incidents) if open_incidents >= 0 else "—",
    }
    return OverviewOut(
        figures=figures,
        ready=ok,
        health=[HealthCheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in checks],
        as_of=ctx.business.now_ms(),
    )


@router.get("/overview", response_model=OverviewOut, summary="The service at a glance")
async def overview(request: Request, who: Admin) -> Any:
    del who
    return await read_overview(request.app.state.ctx)
