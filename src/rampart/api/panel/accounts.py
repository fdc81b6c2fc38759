"""The Accounts pages: every account (a user token: its own), and one account in full."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from rampart.api.panel.web import Who, ctx_of, render
from rampart.api.schemas import (
    AccountOut,
    OrderOut,
    PortfolioOut,
    PositionOut,
    RejectionOut,
    TradeOut,
)

router = APIRouter(include_in_schema=False)
RECENT = 20


def _json(model: type[BaseModel], value: object) -> dict[str, Any]:
    """A view as the API sends it (money as its decimal string)."""
    return model.model_validate(value).model_dump(mode="json")


@router.get("/panel/accounts")
async def accounts(request: Request, who: Who) -> Response:
    operator = ctx_of(request).operator
    found = [_json(AccountOut, a) for a in operator.accounts()]
    if not who.reads_all:
        found = [a for a in found if a["account_id"] == who.account_id]
    return render(request, "accounts.html", who, accounts=found)


@router.get("/panel/accounts/{account_id}")
async def account(
    request: Request, who: Who, account_id: str = Path(min_length=1, max_length=128)
) -> Response:
    ctx = ctx_of(request)
    if not who.reads_all and who.account_id != account_id:
        return render(request, "missing.html", who, status=403, what=None)
    if account_id not in ctx.views.account_ids():
        return render(request, "missing.html", who, status=404, what=f"account {account_id!r}")
    views = ctx.views
    # The history first (its reads wait on the database), then one read of the account as it
    # is now, under the engine's lock (no candle half processed): the portfolio, the summary and
    # the positions are read together, so the figures, the chart's stop-loss and take-profit
    # lines, its caption and the tables all describe the same moment.
    orders = [_json(OrderOut, x) for x in await views.orders(account_id, RECENT, False)]
    trades = [_json(TradeOut, x) for x in await views.trades(account_id, RECENT, None)]
    rejections = [_json(RejectionOut, x) for x in await views.rejections(account_id, RECENT)]
    # Under the engine's lock, as a command reads it: never half a candle.
    async with ctx.lock:
        portfolio = _json(PortfolioOut, await views.portfolio(account_id))
        summary = _json(AccountOut, ctx.operator.summary(account_id))
        positions = [_json(PositionOut, x) for x in views.positions(account_id)]
        as_of = ctx.business.now_ms()
    levels: dict[str, list[dict[str, str]]] = {s: [] for s in summary["symbols"]}
    for x in positions:
        for kind, key in (("stop-loss", "stop_loss"), ("take-profit", "take_profit")):
            found = {
                "kind": kind,
                "price": x[key],
                "account": account_id,
                "protection": x["protection"],
            }
            levels.setdefault(x["symbol"], []).append(found)
    return render(
        request,
        "account.html",
        who,
        a=summary,
        p=portfolio,
        positions=positions,
        levels=levels,
        as_of=as_of,
        orders=orders,
        trades=trades,
        rejections=rejections,
    )
