"""What the panel's charts draw, as JSON for ``panel-charts.js`` (the pages' policy runs no
inline script, so a chart fetches its data): a symbol's candles with each trade's entry and exit,
the open positions' live stop-loss and take-profit and the indicators its agents plot, and the
equity history.

Nothing here is computed for the chart: candles are the ones the engine holds and trades on;
trades, positions and equity points are the same views the API's routes return, serialised by
the same schemas (money as its decimal string), so the chart and the API never disagree.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from rampart.api.panel.sessions import PanelSession
from rampart.api.panel.web import HEADERS, Who, ctx_of
from rampart.api.schemas import EquityPointOut, PositionOut, TradeOut
from rampart.domain import money_format as mf
from rampart.domain.symbols import quote_asset

router = APIRouter(include_in_schema=False)
MAX_TRADES = 1_000
NEEDS_ALL = "Every account's trades need an admin or read token; name your account."

Symbol = Annotated[str, Query(min_length=1, max_length=64)]
Account = Annotated[str | None, Query(min_length=1, max_length=128)]


def _answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=HEADERS)


def _refusal(status: int, sentence: str) -> JSONResponse:
    return _answer({"error": sentence}, status)


def _accounts(request: Request, who: PanelSession, account: str | None) -> list[str] | JSONResponse:
    """The accounts a chart covers (one, or every one the token reads), or why not."""
    known = ctx_of(request).views.account_ids()
    if account is None:
        return list(known) if who.reads_all else _refusal(403, NEEDS_ALL)
    if not who.reads_all and who.account_id != account:
        return _refusal(403, f"This token may only read account {who.account_id}.")
    if account not in known:
        return _refusal(404, f"There is no account {account!r} in this service.")
    return [account]


def _places(tick: Any, last: float | None) -> int:
    """The decimals money_format.price shows this symbol's prices with (its tick's, or those
    it picks for the last price when the tick is not known)."""
    found = mf.step_places(tick)
    if found is not None:
        return found
    text = mf.price(last, "", None) if last is not None else "0.00"
    return len(text.split(".")[1]) if "." in text else 0


@router.get("/panel/data/chart")
async def chart(request: Request, who: Who, symbol: Symbol, account: Account = None) -> Any:
    ctx = ctx_of(request)
    accounts = _accounts(request, who, account)
    if isinstance(accounts, JSONResponse):
        return accounts
    carried = sorted(ctx.operator.feed_symbols)
    if symbol not in carried:
        return _refusal(
            404, f"The feed does not carry {symbol!r}; it carries {', '.join(carried)}."
        )
    views = ctx.views
    candles = ctx.operator.candles(symbol)
    try:
        found = ctx.operator.instrument(symbol)
        tick, lot = found.tick_size, found.lot_size
    except Exception:  # a chart draws whatever the venue knows; the steps are decimals only
        tick = lot = None
    quote = quote_asset(symbol)

    def px(value: object) -> str:
        return mf.price(str(value), "", tick)

    first = candles[0].ts if candles else None
    entries: list[dict[str, Any]] = []
    exits: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    for name in accounts:
        for found in await views.trades(name, MAX_TRADES, first):
            t = TradeOut.model_validate(found).model_dump(mode="json")
            if t["symbol"] != symbol:
                continue
            size = mf.quantity(t["qty"], lot)
            entries.append(
                {
                    "time": t["opened_at"],
                    "price": t["entry_price"],
                    "account": name,
                    "label": f"{name}: bought {size} at {px(t['entry_price'])}",
                }
            )
            exits.append(
                {
                    "time": t["closed_at"],
                    "price": t["exit_price"],
                    "pnl": t["pnl"],
                    "cause": t["exit_cause"],
                    "trade_id": t["trade_id"],
                    "account": name,
                    "label": (
                        f"{name}: sold {size} at {px(t['exit_price'])} ({t['exit_cause']}), "
                        f"{mf.pnl(t['pnl'], quote)} after {mf.money(t['fees'], quote)} fees"
                    ),
                }
            )
        for held in views.positions(name):
            p = PositionOut.model_validate(held).model_dump(mode="json")
            if p["symbol"] != symbol:
                continue
            size = mf.quantity(p["qty"], lot)
            entries.append(
                {
                    "time": p["opened_at"],
                    "price": p["avg_price"],
                    "account": name,
                    "label": f"{name}: bought {size} at {px(p['avg_price'])}, still open",
                }
            )
            levels.append({"kind": "stop-loss", "price": p["stop_loss"], "account": name})
            levels.append({"kind": "take-profit", "price": p["take_profit"], "account": name})
    return _answer(
        {
            "symbol": symbol,
            "accounts": accounts,
            "timeframe_ms": candles[-1].timeframe_ms if candles else None,
            # The price axis prints prices as every front does (rampart.domain.money_format):
            # the tick's decimals, thousands separated.
            "places": _places(tick, candles[-1].close if candles else None),
            # The engine's candles are floats already (prices to draw, not money to book).
            "candles": [
                {"time": c.ts, "open": c.open, "high": c.high, "low": c.low, "close": c.close}
                for c in candles
            ],
            "entries": sorted(entries, key=lambda e: e["time"]),
            "exits": sorted(exits, key=lambda e: e["time"]),
            "levels": levels,
            # What the chart's accounts' agents on the symbol plot (their `plot`), over the price or
            # in panes: never another account's agent's values.
            "indicators": ctx.operator.plotted(symbol, accounts),
        }
    )


@router.get("/panel/data/equity")
async def equity(request: Request, who: Who, account: Account = None) -> Any:
    """Each account's equity curve as ``GET /accounts/{id}/equity`` returns it (read from the
    store, ending with the live equity): one account, or every one the token reads."""
    if account is None and not who.reads_all:
        account = who.account_id
    accounts = _accounts(request, who, account)
    if isinstance(accounts, JSONResponse):
        return accounts
    ctx = ctx_of(request)
    views = ctx.views
    series = []
    for name in accounts:
        points = await views.equity(name)
        quote = ctx.operator.summary(name).quote
        series.append(
            {
                "account_id": name,
                "quote": quote,
                "places": mf.places_of(quote),
                "points": [
                    EquityPointOut.model_validate(p).model_dump(mode="json") for p in points
                ],
            }
        )
    return _answer({"series": series})
