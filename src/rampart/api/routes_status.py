"""``GET /status``: the public status page for investors, HTML or JSON.

No token and no account data: each component's health as operational or degraded (never the
probe's words, which may name a host or an account), whether trading is paused by the
operator, and the incidents still open with their severity, when they began and when the
operator expects them fixed (the ETA set with ``rampart incidents eta`` or the bot's
``/incident_eta``). An incident is shown by a public title chosen from its rule, never by its
summary (which may name an order or an account).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel

from rampart.clock import ms_to_datetime
from rampart.operator.names import INCIDENT_ACKNOWLEDGED, INCIDENT_OPEN

router = APIRouter(tags=["status"])
HERE = Path(__file__).parent
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
STATUS_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
COMPONENTS = {
    "database": "Database",
    "venue": "Exchange connection",
    "feed": "Market data",
    "workers": "Trading workers",
}
TITLES = {
    "DatabaseDown": "Database unavailable: no new trades",
    "OrdersFailing": "Orders cannot be placed",
    "AllWorkersDown": "Trading stopped",
    "MassBreakerTrips": "Many accounts halted by their circuit breakers",
    "WorkerDown": "A trading worker is down",
    "ExecutionErrorRate": "Exchange errors",
    "ExchangeApiErrors": "Exchange errors",
    "FeedDisconnected": "Market data delayed",
    "EventLagHigh": "Processing delayed",
    "OrderSuccessLow": "Some orders are failing",
    "KillSwitchEngaged": "Trading paused by the operator",
    "RpcDown": "Solana network unreachable",
    "RpcFailovers": "Solana network unstable",
    "LatencyDegraded": "Orders are slow",
}
"""Rules a visitor can be told about by name; every other one reads "Service degraded"."""
OPEN_WORDS = {INCIDENT_OPEN: "investigating", INCIDENT_ACKNOWLEDGED: "identified"}


class ComponentOut(BaseModel):
    name: str
    status: Literal["operational", "degraded"]


class IncidentOut(BaseModel):
    id: int
    title: str
    severity: str
    status: Literal["investigating", "identified"]
    started_at: int
    """UTC ms."""
    eta_at: int | None = None
    """When the operator expects it fixed (UTC ms); None when not said."""


class StatusOut(BaseModel):
    status: Literal["operational", "degraded", "major_outage"]
    headline: str
    trading: Literal["active", "paused"]
    components: list[ComponentOut]
    incidents: list[IncidentOut]
    updated_at: int


async def read_status(ctx: Any) -> StatusOut:
    _, checks = await ctx.health.ready()
    components = [ComponentOut(name="API", status="operational")]
    components += [
        ComponentOut(name=COMPONENTS[c.name], status="operational" if c.ok else "degraded")
        for c in checks
        if c.name in COMPONENTS
    ]
    try:
        found = await asyncio.to_thread(ctx.operator.active_incidents_now)
    except Exception:  # a database that is down shows as the Database component, not a 500
        found = []
    incidents = [
        IncidentOut(
            id=r.id,
            title=TITLES.get(r.rule, "Service degraded"),
            severity=r.severity,
            status=OPEN_WORDS.get(r.status, "investigating"),  # type: ignore[arg-type]
            started_at=r.opened_at,
            eta_at=r.eta_at,
        )
        for r in sorted(found, key=lambda r: (r.severity, r.opened_at))
    ]
    paused = ctx.operator.kill_switch().engaged
    degraded = any(c.status != "operational" for c in components) or incidents
    if any(i.severity == "P0" for i in incidents) or paused:
        level: Literal["operational", "degraded", "major_outage"] = "major_outage"
        headline = "Trading is paused or disrupted"
    elif degraded:
        level, headline = "degraded", "Some parts are degraded"
    else:
        level, headline = "operational", "All systems operational"
    return StatusOut(
        status=level,
        headline=headline,
        trading="paused" if paused else "active",
        components=components,
        incidents=incidents,
        updated_at=ctx.business.now_ms(),
    )


def _when(ms: int | None) -> str:
    return "not given yet" if ms is None else f"{ms_to_datetime(ms):%Y-%m-%d %H:%M} UTC"


_env.filters["when"] = _when


@router.get("/status.json", response_model=StatusOut, summary="Public status (JSON)")
async def status_json(request: Request) -> Any:
    body = await read_status(request.app.state.ctx)
    return JSONResponse(body.model_dump(mode="json"), headers={"cache-control": "no-cache"})


@router.get(
    "/status",
    summary="Public status page (HTML; JSON when the client asks for application/json)",
    response_model=StatusOut,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def status_page(request: Request) -> Any:
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return await status_json(request)
    body = await read_status(request.app.state.ctx)
    html = _env.get_template("status.html").render(s=body)
    return HTMLResponse(
        html, headers={"content-security-policy": STATUS_CSP, "cache-control": "no-cache"}
    )


@router.get("/status/status.css", include_in_schema=False)
async def status_css() -> Any:
    return FileResponse(HERE / "static" / "status" / "status.css", media_type="text/css")
