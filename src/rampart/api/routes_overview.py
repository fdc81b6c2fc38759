"""The service at a glance (admin token): what the operator panel's Overview and its live
updates show, read here once so the panel and the API can never disagree.

``figures`` holds every headline figure as an exact string (money as a plain decimal string,
counts as whole numbers), keyed by the name the panel's ``data-figure`` attribute carries;
``shown`` the money among them as the panel prints it (:mod:`rampart.domain.money_format`:
thousands separators, each quote asset named, never added across assets).
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
from rampart.domain.money_format import totals
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
    shown: dict[str, str] = {}
    """equity-total, pnl-today as people read them: ``29,271.17 USDT`` (one total per quote
    asset, ``·`` between them)."""
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
    _, results = ctx.rollout.measure()
    for result in results:
        if result.gate.metric == ORDER_SUCCESS:
            return str(result.gate.show(result.value))
    return "—"


def store_figures(ctx: Any) -> dict[str, str]:
    """The figures read from the database (blocking: call it in a worker thread): the
    rollout stage, order success over the stage's window, open incidents."""
    try:
        stage = ctx.rollout.status().stage
    except Exception:  # a store that is away must not blank the whole overview
        stage = "—"
    try:
        success = _order_success(ctx)
    except Exception:
        success = "—"
    try:
        open_now = str(ctx.operator.open_incidents_now())
    except Exception:
        open_now = "—"
    return {"stage": stage, "order-success": success, "incidents-open": open_now}


def _by_quote(portfolios: list[Any], field: str) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for p in portfolios:
        found[p.quote] = found.get(p.quote, ZERO) + getattr(p, field)
    return found


async def engine_reading(ctx: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The figures held in memory (the engine, the metrics, the alert engine), read at one
    moment: nothing awaits between the engine's figures once every account is seeded; and
    the money among them as people read it."""
    views = ctx.views
    ids = views.account_ids()
    portfolios = [await views.portfolio(a) for a in ids]
    kill = ctx.operator.kill_switch()
    alerts = ctx.alerts
    shown = {
        "equity-total": totals(_by_quote(portfolios, "equity")),
        "pnl-today": totals(_by_quote(portfolios, "pnl_today"), signed=True),
    }
    return {
        "kill-switch": "engaged" if kill.engaged else "released",
        "kill-reason": kill.reason,
        "equity-total": _money(sum((p.equity for p in portfolios), ZERO)),
        "pnl-today": _money(sum((p.pnl_today for p in portfolios), ZERO)),
        "accounts": str(len(ids)),
        "event-lag": _event_lag(ctx),
        "alerts-firing": str(len(alerts.active) if alerts is not None else 0),
    }, shown


ORDER = (
    "kill-switch",
    "kill-reason",
    "stage",
    "equity-total",
    "pnl-today",
    "accounts",
    "event-lag",
    "order-success",
    "alerts-firing",
    "incidents-open",
)


async def overview_figures(ctx: Any) -> tuple[dict[str, str], dict[str, str]]:
    stored = await asyncio.to_thread(store_figures, ctx)
    live, shown = await engine_reading(ctx)
    both = {**stored, **live}
    return {name: both[name] for name in ORDER}, shown


async def read_overview(ctx: Any) -> OverviewOut:
    """Every figure of the overview, and the health checks run now."""
    ok, checks = await ctx.health.ready()
    figures, shown = await overview_figures(ctx)
    return OverviewOut(
        figures=figures,
        shown=shown,
        ready=ok,
        health=[HealthCheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in checks],
        as_of=ctx.business.now_ms(),
    )


@router.get("/overview", response_model=OverviewOut, summary="The service at a glance")
async def overview(request: Request, who: Admin) -> Any:
    del who
    return await read_overview(request.app.state.ctx)
