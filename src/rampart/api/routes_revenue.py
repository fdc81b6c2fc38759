"""Revenue and fees by week for the operator (admin token): JSON, and the same as CSV for a
spreadsheet (plan 001's weekly revenue/fees review). The panel's Revenue page shows
and exports the same figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from rampart.api.auth import Admin
from rampart.api.routes_reports import ERRORS
from rampart.api.routes_trades import CSV, csv_response
from rampart.operator.names import REVENUE_MAX_WEEKS as MAX_WEEKS
from rampart.reports.revenue_text import as_dict, csv_text

Weeks = Annotated[
    int, Query(ge=1, le=MAX_WEEKS, description="ISO weeks listed, the current one to date.")
]


class RevenueWeekOut(BaseModel):
    week: str = Field(description="The ISO week's Monday, UTC (YYYY-MM-DD).")
    operator_fees: dict[str, str] = Field(description="Owed by investors, by quote currency.")
    partner_fees_sol: str | None = Field(description="bags.fm partner fees earned; null: unread.")
    exchange_fees: dict[str, str] = Field(description="Paid by the accounts, by quote currency.")
    network_fees_sol: str
    infra_usd: str
    llm_usd: str
    sol_usd: str | None = Field(description="The SOL price the net used; null: none recorded.")
    net_usd: str = Field(description="Operator fees and partner fees, less infra and LLM cost.")
    left_out: list[str] = Field(description="What the net could not count, in words.")


class RevenueInvestorOut(BaseModel):
    week: str
    account_id: str
    quote: str
    realized_pnl: str = Field(description="After the exchange's fees.")
    exchange_fees: str
    network_fees_sol: str
    subscription: str
    performance_fee: str
    operator_fee: str
    net: str = Field(description="Realised PnL less the operator's fee.")


class RevenueOut(BaseModel):
    as_of: int
    weeks: list[RevenueWeekOut]
    investors: list[RevenueInvestorOut]


router = APIRouter(prefix="/api/v1/admin", tags=["operator"], responses=ERRORS)


async def _revenue(request: Request, weeks: int) -> Any:
    ctx = request.app.state.ctx
    return await ctx.operator.revenue(ctx.settings, weeks)


@router.get("/revenue", response_model=RevenueOut, summary="Revenue and fees by week")
async def revenue(request: Request, who: Admin, weeks: Weeks = 4) -> Any:
    del who
    return RevenueOut.model_validate(as_dict(await _revenue(request, weeks)))


@router.get(
    "/revenue.csv",
    summary="Revenue and fees by week as CSV",
    response_class=Response,
    responses={200: {**CSV[200], "description": "A header row, then one week and scope a row."}},
)
async def revenue_csv(request: Request, who: Admin, weeks: Weeks = 4) -> Response:
    del who
    return csv_response(csv_text(await _revenue(request, weeks)), "revenue.csv")
