"""The Revenue page: revenue and fees by ISO week for the operator (the fees investors owe per
the terms, bags.fm partner fees, the fees the accounts paid, infrastructure and LLM cost, the
net), each investor's week, and the same as CSV (as ``GET /api/v1/admin/revenue.csv``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rampart.api.panel.web import HEADERS, Who, ctx_of, render
from rampart.api.routes_trades import csv_response
from rampart.operator.names import REVENUE_MAX_WEEKS as MAX_WEEKS
from rampart.reports.revenue_text import NOTE, csv_text, day

router = APIRouter(include_in_schema=False)
Weeks = Annotated[int, Query(ge=1, le=MAX_WEEKS)]


@router.get("/panel/revenue")
async def revenue(request: Request, who: Who, weeks: Weeks = 4) -> Response:
    if not who.reads_all:
        return render(request, "missing.html", who, status=403, what=None)
    ctx = ctx_of(request)
    found = await ctx.operator.revenue(ctx.settings, weeks)
    return render(
        request,
        "revenue.html",
        who,
        r=found,
        weeks=weeks,
        day=day,
        note=NOTE,
        last=found.weeks[-1].week if found.weeks else None,
    )


@router.get("/panel/revenue.csv")
async def revenue_csv(request: Request, who: Who, weeks: Weeks = 4) -> Response:
    if not who.reads_all:
        refused = "Only the operator's tokens read revenue."
        return Response(refused, status_code=403, headers=HEADERS)
    ctx = ctx_of(request)
    answer = csv_response(csv_text(await ctx.operator.revenue(ctx.settings, weeks)), "revenue.csv")
    answer.headers["cache-control"] = HEADERS["cache-control"]
    return answer
