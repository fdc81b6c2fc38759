"""Closed trades as CSV, for a spreadsheet or an accountant: every account's (admin or read
token) or one account's (its user token too). The same rows as ``GET .../trades``, every
figure its exact decimal string (docs/operations/api.md, "Trades as CSV")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rampart.api.auth import Admin, ReadableAccount
from rampart.api.errors import ApiError
from rampart.api.schemas import ErrorBody
from rampart.api.trade_book import closed_trades, csv_text

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The time range is empty."},
    401: {"model": ErrorBody, "description": "No token, or not a valid one."},
    403: {"model": ErrorBody, "description": "The token may not read this."},
    404: {"model": ErrorBody, "description": "No such account."},
    422: {"model": ErrorBody, "description": "A parameter is not valid."},
    429: {"model": ErrorBody, "description": "Too many requests with this token."},
    503: {"model": ErrorBody, "description": "The database cannot be read right now."},
}
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "A header row, then one trade a row."}
}
Since = Annotated[
    int | None, Query(ge=0, le=10**15, description="Closed at or after this time (UTC ms).")
]
Until = Annotated[
    int | None, Query(ge=0, le=10**15, description="Closed before this time (UTC ms).")
]
AccountFilter = Annotated[
    str | None, Query(min_length=1, max_length=128, description="Only this account.")
]

router = APIRouter(tags=["operator"], responses=ERRORS)


def csv_response(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _range(since: int | None, until: int | None) -> None:
    if since is not None and until is not None and until <= since:
        raise ApiError(400, "until must be after since; this range holds no time.")


@router.get(
    "/api/v1/admin/trades.csv",
    response_class=Response,
    responses=CSV,
    summary="Every account's closed trades as CSV",
)
async def all_trades(
    request: Request,
    who: Admin,
    account: AccountFilter = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    del who
    _range(since, until)
    ctx = request.app.state.ctx
    known = ctx.views.account_ids()
    if account is not None and account not in known:
        raise ApiError(404, f"There is no account {account!r} in this service.")
    accounts = [account] if account is not None else known
    return csv_response(csv_text(await closed_trades(ctx, accounts, since, until)), "trades.csv")


@router.get(
    "/api/v1/accounts/{account_id}/trades.csv",
    response_class=Response,
    responses=CSV,
    summary="This account's closed trades as CSV",
    tags=["investor"],
)
async def account_trades(
    request: Request, account_id: ReadableAccount, since: Since = None, until: Until = None
) -> Response:
    _range(since, until)
    found = await closed_trades(request.app.state.ctx, [account_id], since, until)
    return csv_response(csv_text(found), f"trades-{account_id}.csv")
