"""The live terminal view of ``rampart run``: equity, positions with their brackets, recent
orders and recent risk rejections. It only reads engine state.

The view is laid out for the terminal it is drawn in, down to 80×24: an id or an amount is
never cut. Every column holding one is as wide as its widest cell; when they do not all fit,
columns that only help (cash, agent, mark, type) are left out, and only words (a rejection's
reason, a profile name) are shortened with "…". Rows are counted against the height, so the
sections fit the screen one under the other (older orders and rejections give way, with a
line saying how many are not shown). Amounts are :mod:`rampart.domain.money_format`'s, with
their asset.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from rampart.clock import ms_to_datetime
from rampart.domain import money_format as mf
from rampart.domain.instruments import Instrument
from rampart.trading.engine import Engine

GAP = 2
"""Spaces between two columns."""
MIN_WORDS = 8
"""The narrowest a column of words is before it is left out instead."""
MAX_ORDERS = 8
MAX_REJECTIONS = 6


@dataclass(slots=True)
class Column:
    header: str
    cells: list[str | Text] = field(default_factory=list)
    right: bool = False
    keep: bool = True
    """False: left out when the kept columns need the room (in the order they are listed)."""
    words: bool = False
    """Words, not an id or an amount: shortened with "…" to the room left."""

    def width(self) -> int:
        return max(
            [
                len(self.header),
                *(Text(c).cell_len if isinstance(c, str) else c.cell_len for c in self.cells),
            ]
        )


@dataclass(slots=True)
class Section:
    title: str
    columns: list[Column]
    empty: str = ""
    more: int = 0
    """Rows not shown for want of lines (the newest are shown)."""


def fit(columns: Sequence[Column], width: int) -> list[tuple[Column, int]]:
    """The columns to show at ``width`` with the width of each: ids and amounts whole, optional
    columns dropped last-listed first, words given what is left (or dropped under MIN_WORDS)."""
    shown = list(columns)

    def need(cols: Sequence[Column]) -> int:
        fixed = sum(c.width() for c in cols if not c.words)
        flexible = sum(min(c.width(), MIN_WORDS) for c in cols if c.words)
        return fixed + flexible + GAP * (len(cols) - 1)

    for col in reversed(list(columns)):
        if need(shown) <= width:
            break
        if not col.keep:
            shown.remove(col)
    words = [c for c in shown if c.words]
    room = width - sum(c.width() for c in shown if not c.words) - GAP * (len(shown) - 1)
    sized: list[tuple[Column, int]] = []
    for col in shown:
        if not col.words:
            sized.append((col, col.width()))
            continue
        share = room // len(words) if words else 0
        if share < MIN_WORDS and not col.keep:
            continue
        sized.append((col, max(min(col.width(), share), 1)))
    return sized


def _table(section: Section, width: int, rows: int) -> Table:
    table = Table(
        title=section.title,
        title_justify="left",
        title_style="bold",
        box=None,
        padding=(0, GAP // 2),
        pad_edge=False,
        header_style="bold underline",
        show_edge=False,
    )
    sized = fit(section.columns, width)
    for col, w in sized:
        table.add_column(
            col.header,
            width=w,
            no_wrap=True,
            # An id or amount has its whole width: "fold" never applies (and keeps justify).
            overflow="ellipsis" if col.words else "fold",
            justify="right" if col.right else "left",
        )
    count = len(section.columns[0].cells)
    for i in range(min(rows, count)):
        table.add_row(*(col.cells[i] for col, _ in sized))
    if not count and section.empty:
        table.add_row(Text(section.empty, style="dim"), *([""] * (len(sized) - 1)))
    hidden = section.more + max(count - rows, 0)
    if hidden:
        table.caption = f"{hidden} more not shown"
        table.caption_justify = "left"
    return table


@dataclass(slots=True)
class TerminalView:
    """What the view shows, read from the engine at one moment; laid out when drawn."""

    header: list[tuple[str, str]]
    sections: list[Section]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        height = options.height or console.height or 24
        yield self._header(width)
        # Lines each section takes besides its rows: title and header (+ "more" caption).
        left = height - 1 - sum(3 for _ in self.sections)
        counts = [max(len(s.columns[0].cells), 1) for s in self.sections]
        for section, rows in zip(self.sections, _share(counts, left), strict=True):
            yield _table(section, width, rows)

    def _header(self, width: int) -> Text:
        parts = list(self.header)
        while parts and sum(len(p) for p, _ in parts) > width:
            parts.pop()  # the least needed part is last
        return Text.assemble(*parts)


def _share(counts: list[int], lines: int) -> list[int]:
    """Rows for each section within ``lines``: the earlier sections (accounts, positions) are
    served first, whole; later ones get what is left, at least one row each."""
    result = []
    left = lines
    for i, count in enumerate(counts):
        later = len(counts) - i - 1
        rows = max(min(count, left - later), 1)
        result.append(rows)
        left -= rows
    return result


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


def _add(cols: Sequence[Column], cells: Sequence[str | Text]) -> None:
    """One row: each cell to its column."""
    for col, cell in zip(cols, cells, strict=True):
        col.cells.append(cell)


def _accounts(engine: Engine) -> Section:
    cols = [
        Column("account"),
        Column("state"),
        Column("equity", right=True),
        Column("PnL", right=True),
        Column("trades", right=True),
        Column("cash", right=True, keep=False),
        Column("agent / profile", keep=False, words=True),
    ]
    for acct in engine.accounts.values():
        ledger = acct.ledger
        equity = ledger.equity(engine.marks)
        pnl = equity - ledger.capital
        state = "paused" if acct.paused else acct.state.value
        _add(
            cols,
            (
                acct.account_id,
                Text(state, style="green" if state == "active" else "yellow"),
                mf.money(equity, ledger.quote),
                Text(mf.pnl(pnl, ledger.quote), style="green" if pnl >= 0 else "red"),
                str(ledger.trades_closed),
                mf.money(ledger.cash, ledger.quote),
                f"{acct.spec.agent} / {acct.spec.profile}",
            ),
        )
    return Section("Accounts", cols)


def _positions(engine: Engine) -> Section:
    heads = ("account", "symbol", "qty", "entry", "stop-loss", "take-profit", "PnL", "mark")
    cols = [Column(h, right=h not in ("account", "symbol"), keep=h != "mark") for h in heads]
    for acct in engine.accounts.values():
        for pos in acct.ledger.positions.values():
            mark = engine.marks.get(pos.symbol, pos.avg_price)
            pnl = pos.net_pnl(mark)
            s = pos.symbol
            cells = (
                acct.account_id,
                s,
                _qty(engine, s, pos.qty),
                _price(engine, s, pos.avg_price),
                _price(engine, s, pos.stop_loss),
                _price(engine, s, pos.take_profit),
                Text(mf.pnl(pnl, acct.ledger.quote), style="green" if pnl >= 0 else "red"),
                _price(engine, s, mark),
            )
            _add(cols, cells)
    return Section("Open positions", cols, empty="none")


def _orders(engine: Engine) -> Section:
    heads = ("time", "account", "symbol", "side", "qty", "role", "status", "type")
    cols = [Column(h, right=h == "qty", keep=h not in ("type",)) for h in heads]
    recent = sorted(
        (o for a in engine.accounts.values() for o in a.recent_orders),
        key=lambda o: (o.updated_at, o.client_id),
        reverse=True,
    )[:MAX_ORDERS]
    for order in recent:
        cells = (
            f"{ms_to_datetime(order.updated_at):%H:%M}",
            order.account_id,
            order.symbol,
            order.side.value,
            _qty(engine, order.symbol, order.qty),
            order.role.value,
            order.status.value,
            order.type.value,
        )
        _add(cols, cells)
    return Section("Recent orders", cols, empty="none yet")


def _rejections(engine: Engine) -> Section:
    cols = [Column("time"), Column("account"), Column("symbol"), Column("why", words=True)]
    latest = sorted(
        ((a.account_id, r) for a in engine.accounts.values() for r in a.rejections),
        key=lambda item: item[1].ts,
        reverse=True,
    )[:MAX_REJECTIONS]
    for account_id, rej in latest:
        cells = (f"{ms_to_datetime(rej.ts):%H:%M}", account_id, rej.symbol, rej.message)
        _add(cols, cells)
    return Section("Recent risk rejections", cols, empty="none")


def render(engine: Engine, title: str) -> TerminalView:
    now = engine.clock.now_ms()
    header = [
        (f"{title}  ", "bold"),
        (f"{ms_to_datetime(now):%Y-%m-%d %H:%M} UTC  ", "cyan"),
        ("KILL SWITCH ON  " if engine.controls.global_kill else "", "bold red"),
        (f"candles {engine.candles_seen:,}  ", "dim"),
        ("Ctrl-C stops and saves", "dim"),
    ]
    sections = [
        _accounts(engine),
        _positions(engine),
        _orders(engine),
        _rejections(engine),
    ]
    return TerminalView(header, sections)


def lines(view: TerminalView, width: int = 80, height: int = 24) -> Iterator[str]:
    """The view as plain text at ``width``×``height`` (tests, and a log without a terminal)."""
    console = Console(
        width=width, height=height, record=True, color_system=None, file=io.StringIO()
    )
    console.print(view)
    yield from console.export_text().splitlines()


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
