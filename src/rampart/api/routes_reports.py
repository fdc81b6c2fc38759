"""Reports over HTTP: the operator lists and reads stored reports (admin token); an investor
gets their own weekly summary (their user token, their account only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from rampart.api.auth import Admin, ReadableAccount
from rampart.api.errors import ApiError
from rampart.api.schemas import ErrorBody, Limit
from rampart.reports.period import default_period, parse_date

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The date is not valid or not over yet."},
    401: {"model": ErrorBody, "description": "No token, or not a valid one."},
    403: {"model": ErrorBody, "description": "The token may not read this."},
    404: {"model": ErrorBody, "description": "No such report or account."},
    422: {"model": ErrorBody, "description": "A parameter is not valid."},
    429: {"model": ErrorBody, "description": "Too many requests with this token."},
    503: {"model": ErrorBody, "description": "The database cannot be read right now."},
}
ReportKind = Literal["daily", "weekly", "investor_weekly", "research"]
ReportId = Annotated[int, Path(ge=1, le=2**53, description="The report's id.")]
DateQuery = Annotated[
    str | None,
    # format: date, as the server enforces it (anything else is refused with a 400).
    Query(
        description="A day (YYYY-MM-DD, UTC) in the week; default: last week.",
        json_schema_extra={"format": "date"},
    ),
]


class ReportListItem(BaseModel):
    id: int
    kind: str
    scope: str = Field(description="'all' for the operator's reports, else the account id.")
    period_start: int
    period_end: int
    created_at: int


class ReportsOut(BaseModel):
    reports: list[ReportListItem]


class ReportOut(ReportListItem):
    markdown: str
    figures: dict[str, Any] = Field(description="The report's numbers; money as strings.")
    charts: list[str] = Field(description="Chart names, at .../charts/{name}.")


admin_router = APIRouter(prefix="/api/v1/admin/reports", tags=["operator"], responses=ERRORS)
investor_router = APIRouter(
    prefix="/api/v1/accounts/{account_id}/reports", tags=["investor"], responses=ERRORS
)


def _operator(request: Request) -> Any:
    return request.app.state.ctx.operator


def _out(stored: Any) -> ReportOut:
    return ReportOut(
        **stored.listing(),
        markdown=stored.markdown,
        figures=stored.figures,
        charts=list(stored.charts),
    )


@admin_router.get("", response_model=ReportsOut, summary="Stored reports, newest first")
async def reports(
    request: Request,
    who: Admin,
    kind: Annotated[ReportKind | None, Query(description="Filter by kind.")] = None,
    limit: Limit = 50,
) -> Any:
    del who
    found = await _operator(request).reports(kind, limit)
    return ReportsOut(reports=[ReportListItem(**r.listing()) for r in found])


async def _stored(request: Request, report_id: int) -> Any:
    found = await _operator(request).report(report_id)
    if found is None:
        raise ApiError(404, f"There is no report {report_id}.")
    return found


@admin_router.get("/{report_id}", response_model=ReportOut, summary="One report: Markdown, figures")
async def report(request: Request, who: Admin, report_id: ReportId) -> Any:
    del who
    return _out(await _stored(request, report_id))


@admin_router.get(
    "/{report_id}/charts/{name}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    summary="One of a report's PNG charts",
)
async def chart(
    request: Request,
    who: Admin,
    report_id: ReportId,
    name: Annotated[str, Path(max_length=64)],
) -> Response:
    del who
    found = await _stored(request, report_id)
    if name not in found.charts:
        raise ApiError(404, f"Report {report_id} has no chart {name!r}.")
    return Response(found.charts[name], media_type="image/png")


@investor_router.get(
    "/weekly", response_model=ReportOut, summary="Your own weekly summary (made on request)"
)
async def weekly(request: Request, account_id: ReadableAccount, date: DateQuery = None) -> Any:
    ctx = request.app.state.ctx
    now = ctx.business.now_ms()
    day = parse_date(date) if date is not None else default_period("weekly", now).first_day
    made = await ctx.operator.make_report(ctx.settings, "weekly", day, account=account_id)
    found = await _stored(request, made.id)
    return _out(found)
