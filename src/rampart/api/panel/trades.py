"""The Trades page: every account's open trades in one table, realised profit by day, pair and
agent, and every closed trade as CSV (the same rows as ``GET /api/v1/admin/trades.csv``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rampart.api.panel.web import HEADERS, Who, ctx_of, render
from rampart.api.routes_trades import csv_response
from rampart.api.trade_book import GROUPINGS, closed_trades, csv_text, open_trades, profit_by

router = APIRouter(include_in_schema=False)
DAYS_SHOWN = 14
"""Days listed in "Profit by day" (the CSV holds every trade)."""


@router.get("/panel/trades")
async def trades(request: Request, who: Who) -> Response:
    if not who.reads_all:
        return render(request, "missing.html", who, status=403, what=None)
    ctx = ctx_of(request)
    accounts = ctx.views.account_ids()
    closed = await closed_trades(ctx, accounts)
    # Read after the await: the open trades are the engine's as it is now.
    held = open_trades(ctx, accounts)
    groups = {by: profit_by(closed, by) for by in GROUPINGS}
    days = sorted({g.key for g in groups["day"]}, reverse=True)[:DAYS_SHOWN]
    groups["day"] = [g for g in groups["day"] if g.key in days]
    return render(
        request, "trades.html", who, held=held, closed=len(closed), groups=groups, days=DAYS_SHOWN
    )


@router.get("/panel/trades.csv")
async def trades_csv(request: Request, who: Who) -> Response:
    ctx = ctx_of(request)
    accounts: list[str] = ctx.views.account_ids() if who.reads_all else [str(who.account_id)]
    answer = csv_response(csv_text(await closed_trades(ctx, accounts)), "trades.csv")
    answer.headers["cache-control"] = HEADERS["cache-control"]
    return answer
