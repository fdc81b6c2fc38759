"""An investor's own account: a user token reads only its account, an admin token any."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from rampart.api.auth import ReadableAccount
from rampart.api.schemas import (
    EquityOut,
    EquityPointOut,
    ErrorBody,
    Limit,
    OrderOut,
    OrdersOut,
    PortfolioOut,
    PositionOut,
    PositionsOut,
    ProfitOut,
    RejectionOut,
    RejectionsOut,
    TradeOut,
    TradesOut,
)
from rampart.operator.profit import MAX_DAYS, MAX_WEEKS

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No token, or not a valid one."},
    403: {"model": ErrorBody, "description": "The token may not read this account."},
    404: {"model": ErrorBody, "description": "No such account."},
    422: {"model": ErrorBody, "description": "A parameter is not valid."},
    429: {"model": ErrorBody, "description": "Too many requests with this token."},
    503: {"model": ErrorBody, "description": "The database cannot be read right now."},
}
Since = Annotated[
    int | None, Query(ge=0, le=10**15, description="Only from this time (UTC ms) on.")
]

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["investor"], responses=ERRORS)


def _views(request: Request) -> Any:
    return request.app.state.ctx.views


@router.get("/portfolio", response_model=PortfolioOut, summary="Equity, cash and PnL")
async def portfolio(request: Request, account_id: ReadableAccount) -> Any:
    return PortfolioOut.model_validate(await _views(request).portfolio(account_id))


@router.get(
    "/positions",
    response_model=PositionsOut,
    summary="Open positions with stop-loss and take-profit",
)
async def positions(request: Request, account_id: ReadableAccount) -> Any:
    found = _views(request).positions(account_id)
    return PositionsOut(
        account_id=account_id, positions=[PositionOut.model_validate(p) for p in found]
    )


@router.get("/orders", response_model=OrdersOut, summary="Orders, newest first")
async def orders(
    request: Request,
    account_id: ReadableAccount,
    limit: Limit = 50,
    open_only: Annotated[bool, Query(description="Only orders still working.")] = False,
) -> Any:
    found = await _views(request).orders(account_id, limit, open_only)
    return OrdersOut(account_id=account_id, orders=[OrderOut.model_validate(o) for o in found])


@router.get("/trades", response_model=TradesOut, summary="Closed trades, newest first")
async def trades(
    request: Request, account_id: ReadableAccount, limit: Limit = 50, since: Since = None
) -> Any:
    found = await _views(request).trades(account_id, limit, since)
    return TradesOut(account_id=account_id, trades=[TradeOut.model_validate(t) for t in found])


@router.get(
    "/profit",
    response_model=ProfitOut,
    summary="Realised and unrealised PnL: today, this week, all time, per day and per week",
)
async def profit(
    request: Request,
    account_id: ReadableAccount,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="Business days listed.")] = 7,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS, description="ISO weeks listed.")] = 4,
) -> Any:
    return ProfitOut.model_validate(await _views(request).profit(account_id, days, weeks))


@router.get("/equity", response_model=EquityOut, summary="Equity history, oldest first")
async def equity(
    request: Request, account_id: ReadableAccount, limit: Limit = 500, since: Since = None
) -> Any:
    found = await _views(request).equity(account_id, limit, since)
    return EquityOut(
        account_id=account_id, points=[EquityPointOut.model_validate(p) for p in found]
    )


@router.get(
    "/rejections", response_model=RejectionsOut, summary="Refused trades with the reason in words"
)
async def rejections(request: Request, account_id: ReadableAccount, limit: Limit = 50) -> Any:
    found = await _views(request).rejections(account_id, limit)
    return RejectionsOut(
        account_id=account_id, rejections=[RejectionOut.model_validate(r) for r in found]
    )
