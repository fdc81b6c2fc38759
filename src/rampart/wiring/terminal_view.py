"""The live terminal view of ``rampart run``: equity, positions with their brackets,
recent orders and recent risk rejections. It only reads engine state."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Group
from rich.table import Table
from rich.text import Text

from rampart.clock import ms_to_datetime
from rampart.domain import money_format as mf
from rampart.domain.instruments import Instrument
from rampart.trading.engine import Engine


def _instrument(engine: Engine, symbol: str) -> Instrument | None:
    try:
        return engine.venue.instrument(symbol)
    except Exception:  # the view shows what it can; an unknown instrument only loses decimals
        return None


def _price(engine: Engine, symbol: str, value: Decimal | None) -> str:
    found = _instrument(engine, symbol)
    return mf.price(value, "", found.tick_size if found is not None else None)


def _qty(engine: Engine, symbol: str, value: Decimal) -> str:
    found = _instrument(engine, symbol)
    return mf.quantity(value, found.lot_size if found is not None else None)


def render(engine: Engine, title: str) -> Group:
    now = engine.clock.now_ms()
    header = Text.assemble(
        (f"{title}  ", "bold"),
        (f"{ms_to_datetime(now):%Y-%m-%d %H:%M} UTC  ", "cyan"),
        (f"candles {engine.candles_seen:,}  ", "dim"),
        ("KILL SWITCH ON  " if engine.controls.global_kill else "", "bold red"),
        ("Ctrl-C stops and saves", "dim"),
    )

    accounts = Table(title="Accounts", expand=True, title_justify="left")
    for col in ("account", "agent", "profile", "state", "equity", "cash", "PnL", "trades"):
        accounts.add_column(col, justify="right" if col in {"equity", "cash", "PnL"} else "left")
    for acct in engine.accounts.values():
        ledger = acct.ledger
        equity = ledger.equity(engine.marks)
        pnl = equity - ledger.capital
        state = "paused" if acct.paused else acct.state.value
        accounts.add_row(
            acct.account_id,
            acct.spec.agent,
            acct.spec.profile,
            Text(state, style="green" if state == "active" else "yellow"),
            mf.money(equity, ledger.quote),
            mf.money(ledger.cash, ledger.quote),
            Text(mf.pnl(pnl, ledger.quote), style="green" if pnl >= 0 else "red"),
            str(ledger.trades_closed),
        )

    positions = Table(title="Open positions", expand=True, title_justify="left")
    for col in ("account", "symbol", "qty", "entry", "mark", "stop-loss", "take-profit", "PnL"):
        positions.add_column(col)
    for acct in engine.accounts.values():
        for pos in acct.ledger.positions.values():
            mark = engine.marks.get(pos.symbol, pos.avg_price)
            pnl = pos.net_pnl(mark)
            symbol = pos.symbol
            positions.add_row(
                acct.account_id,
                symbol,
                _qty(engine, symbol, pos.qty),
                _price(engine, symbol, pos.avg_price),
                _price(engine, symbol, mark),
                _price(engine, symbol, pos.stop_loss),
                _price(engine, symbol, pos.take_profit),
                Text(mf.pnl(pnl, acct.ledger.quote), style="green" if pnl >= 0 else "red"),
            )

    orders = Table(title="Recent orders", expand=True, title_justify="left")
    for col in ("time", "account", "symbol", "role", "side", "type", "qty", "status"):
        orders.add_column(col)
    recent = sorted(
        (o for a in engine.accounts.values() for o in a.recent_orders),
        key=lambda o: (o.updated_at, o.client_id),
        reverse=True,
    )[:8]
    for order in recent:
        orders.add_row(
            f"{ms_to_datetime(order.updated_at):%H:%M}",
            order.account_id,
            order.symbol,
            order.role.value,
            order.side.value,
            order.type.value,
            _qty(engine, order.symbol, order.qty),
            order.status.value,
        )

    rejections = Table(title="Recent risk rejections", expand=True, title_justify="left")
    for col in ("time", "account", "symbol", "why"):
        rejections.add_column(col)
    latest = sorted(
        ((a.account_id, r) for a in engine.accounts.values() for r in a.rejections),
        key=lambda item: item[1].ts,
        reverse=True,
    )[:6]
    for account_id, rej in latest:
        rejections.add_row(f"{ms_to_datetime(rej.ts):%H:%M}", account_id, rej.symbol, rej.message)
    return Group(header, accounts, positions, orders, rejections)


def status_line(engine: Engine) -> str:
    parts = []
    for acct in engine.accounts.values():
        equity = acct.ledger.equity(engine.marks)
        parts.append(
            f"{acct.account_id} {mf.money(equity, acct.ledger.quote)} "
            f"({len(acct.ledger.positions)} open, {acct.ledger.trades_closed} trades)"
        )
    now = engine.clock.now_ms()
    # Before the first candle the engine's clock has not been set: no time to show yet.
    when = f"{ms_to_datetime(now):%Y-%m-%d %H:%M}" if now > 0 else "no candle yet"
    return f"[{when}] candles {engine.candles_seen:,} | " + " | ".join(parts)
