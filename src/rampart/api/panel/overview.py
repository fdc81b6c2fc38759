"""The Overview page and acknowledging an incident from it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rampart.api.errors import ApiError
from rampart.api.panel.actions import Action, action
from rampart.api.panel.sessions import PanelSession
from rampart.api.panel.web import Who, ctx_of, render
from rampart.api.routes_overview import read_overview
from rampart.api.schemas import IncidentOut, PortfolioOut
from rampart.operator.names import INCIDENT_ACTIVE

router = APIRouter(include_in_schema=False)


async def incidents(ctx: Any, status: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """Incidents as the API lists them (``GET /admin/incidents``), newest first."""
    found = await ctx.operator.incidents(status, limit)
    return [IncidentOut.model_validate(i.to_dict()).model_dump(mode="json") for i in found]


def firing(ctx: Any) -> list[dict[str, Any]]:
    if ctx.alerts is None:
        return []
    return [
        {"rule": a.rule, "severity": a.severity, "summary": a.summary, "opened_at": a.opened_at}
        for a in sorted(ctx.alerts.active.values(), key=lambda a: a.opened_at)
    ]


@router.get("/panel")
async def overview(request: Request, who: Who) -> Response:
    ctx = ctx_of(request)
    if not who.reads_all:
        # A user token reads its own account only, as in the API: the kill switch state and
        # its account's portfolio, not the service's totals.
        mine = None
        if who.account_id is not None and who.account_id in ctx.views.account_ids():
            portfolio = await ctx.views.portfolio(who.account_id)
            mine = PortfolioOut.model_validate(portfolio).model_dump(mode="json")
        return render(
            request,
            "overview_user.html",
            who,
            kill="engaged" if ctx.operator.kill_switch().engaged else "released",
            mine=mine,
        )
    data = await read_overview(ctx)
    status = ctx.rollout.status()
    return render(
        request,
        "overview.html",
        who,
        o=data.model_dump(mode="json"),
        f=data.figures,
        shown=data.shown,
        rollout=status.to_dict() if status is not None else None,
        alerts=firing(ctx),
        incidents=await incidents(ctx, INCIDENT_ACTIVE, 20),
    )


async def _ack(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    """Through the same function as ``POST /admin/incidents/{id}/ack``."""
    del f
    ctx = ctx_of(request)
    if not target.isdigit() or not 1 <= int(target) <= 2**62:
        raise ApiError(422, f"An incident id is a positive whole number; got {target!r}.")
    incident_id = int(target)
    done = await ctx.operator.acknowledge_incident(incident_id, who.actor)
    return (
        f"Incident {incident_id} ({done.rule}) acknowledged by {who.actor}: "
        "its notices stop repeating."
    )


action(
    Action(
        "incident-ack",
        "Acknowledge",
        "You take this incident on: its notices stop repeating until it resolves.",
        _ack,
        "/panel",
        target="incident",
        danger=False,
    )
)
