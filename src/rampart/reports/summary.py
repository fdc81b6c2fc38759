"""Performance figures of a run, computed from its closed trades and equity curve."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

import structlog

from rampart.domain.money import ZERO
from rampart.domain.positions import ClosedTrade, Position
from rampart.extras import MissingExtra
from rampart.reports.equity_chart import draw_equity

TRADE_COLUMNS = (
    "account_id",
    "symbol",
    "strategy",
    "opened_at",
    "closed_at",
    "qty",
    "entry_price",
    "exit_price",
    "stop_loss",
    "take_profit",
    "gross_pnl",
    "fees",
    "pnl",
    "risk",
    "planned_reward_risk",
    "exit_reason",
    "initial_stop",
    "final_stop",
    "entries",
    "exits",
)


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A position still open when the run ended (an exit the last candles could only fill in
    part, or dust below the venue's minimum order)."""

    symbol: str
    qty: Decimal
    avg_price: Decimal
    mark: Decimal
    unrealized_pnl: Decimal
    """What the position would bring at the mark minus what it cost, net of fees, including
    any part of it already sold (those sales close no trade, so they are in no trade's PnL).
    Computed from the position's cash flows, so that final equity is exactly capital + the
    trades' PnL + this figure summed over open positions."""

    @classmethod
    def of(cls, pos: Position, mark: Decimal) -> OpenPosition:
        # Cash flows, not (mark - average price) x qty: the average is a rounded division.
        spent = pos.bought_value + pos.entry_fees
        received = pos.sold_value - pos.exit_fees
        return cls(pos.symbol, pos.qty, pos.avg_price, mark, pos.qty * mark + received - spent)

    def as_dict(self) -> dict[str, str]:
        return {
            "symbol": self.symbol,
            "qty": str(self.qty),
            "avg_price": str(self.avg_price),
            "mark": str(self.mark),
            "unrealized_pnl": str(self.unrealized_pnl),
        }


@dataclass(frozen=True, slots=True)
class Summary:
    trades: int
    wins: int
    losses: int
    win_rate: float
    profit_factor: float | None
    """Gross profit over gross loss; None when there was no losing trade."""
    avg_reward_risk: float
    """Mean planned reward:risk of the trades' brackets."""
    realized_reward_risk: float | None
    """Average win over average loss."""
    max_drawdown: float
    """Largest fall from a peak of the equity curve, as a fraction of that peak."""
    fees_paid: Decimal
    net_pnl: Decimal
    capital: Decimal
    final_equity: Decimal
    open_pnl: Decimal = ZERO
    """Unrealised PnL of the positions still open at the end (sum over ``open_positions``):
    ``final_equity == capital + net_pnl + open_pnl``."""
    open_positions: tuple[OpenPosition, ...] = ()

    @property
    def return_pct(self) -> float:
        return float((self.final_equity - self.capital) / self.capital * 100)

    def as_dict(self) -> dict[str, object]:
        data = {k: v for k, v in asdict(self).items() if k != "open_positions"}
        data["return_pct"] = self.return_pct
        out: dict[str, object] = {
            k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items()
        }
        out["open_positions"] = [p.as_dict() for p in self.open_positions]
        return out


def max_drawdown(equity: Iterable[float]) -> float:
    peak = 0.0
    worst = 0.0
    for value in equity:
        if value > peak:
            peak = value
        elif peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst


@dataclass
class TradeTotals:
    """What the summary needs of the closed trades, summed as they close (in their order, so
    every Decimal sum is the one a list of them gives): a long replay holds no trade."""

    trades: int = 0
    wins: int = 0
    losses: int = 0
    gross_win: Decimal = ZERO
    loss_sum: Decimal = ZERO
    reward_risk: Decimal = ZERO
    net_pnl: Decimal = ZERO

    def add(self, trade: ClosedTrade) -> None:
        self.trades += 1
        if trade.pnl > ZERO:
            self.wins += 1
            self.gross_win += trade.pnl
        else:
            self.losses += 1
            self.loss_sum += trade.pnl
        self.reward_risk += trade.planned_reward_risk
        self.net_pnl += trade.pnl

    @classmethod
    def of(cls, trades: Iterable[ClosedTrade]) -> TradeTotals:
        totals = cls()
        for trade in trades:
            totals.add(trade)
        return totals


def summarize(
    trades: Sequence[ClosedTrade] | TradeTotals,
    equity: Iterable[float],
    capital: Decimal,
    final_equity: Decimal,
    fees_paid: Decimal,
    open_positions: Sequence[OpenPosition] = (),
) -> Summary:
    t = trades if isinstance(trades, TradeTotals) else TradeTotals.of(trades)
    gross_win, gross_loss, n = t.gross_win, -t.loss_sum, t.trades
    return Summary(
        trades=n,
        wins=t.wins,
        losses=t.losses,
        win_rate=t.wins / n if n else 0.0,
        profit_factor=float(gross_win / gross_loss) if gross_loss > ZERO else None,
        avg_reward_risk=float(t.reward_risk / n) if n else 0.0,
        realized_reward_risk=(
            float((gross_win / t.wins) / (gross_loss / t.losses))
            if t.wins and t.losses and gross_loss > ZERO
            else None
        ),
        max_drawdown=max_drawdown(equity),
        fees_paid=fees_paid,
        net_pnl=t.net_pnl,
        capital=capital,
        final_equity=final_equity,
        open_pnl=sum((p.unrealized_pnl for p in open_positions), ZERO),
        open_positions=tuple(open_positions),
    )


def _trade_fields(t: ClosedTrade) -> list[object]:
    return [
        t.account_id,
        t.symbol,
        t.strategy,
        t.opened_at,
        t.closed_at,
        t.qty,
        t.entry_price,
        t.exit_price,
        t.stop_loss,
        t.take_profit,
        t.gross_pnl,
        t.fees,
        t.pnl,
        t.risk,
        t.planned_reward_risk,
        t.exit_reason,
        t.stop_loss,
        t.final_stop if t.final_stop > ZERO else "",
        t.entries or "",
        t.exits or "",
    ]


def write_trades_csv(trades: Sequence[ClosedTrade], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRADE_COLUMNS)
        for t in trades:
            writer.writerow(_trade_fields(t))


class TradeLog:
    """``trades.csv`` written as trades close, and their totals for the summary: memory does
    not grow with the number of trades. Rows go to ``trades.csv.part``, renamed to the real
    name by :meth:`finish`; :meth:`discard` (a stopped replay) leaves any older file as is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.totals = TradeTotals()
        self._part = path.with_name(path.name + ".part")
        self._handle = self._part.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(TRADE_COLUMNS)

    def add(self, trade: ClosedTrade) -> None:
        self.totals.add(trade)
        self._writer.writerow(_trade_fields(trade))

    def finish(self) -> None:
        self._handle.close()
        self._part.replace(self.path)

    def discard(self) -> None:
        self._handle.close()
        self._part.unlink(missing_ok=True)


def write_equity_csv(points: Sequence[tuple[int, float]], path: Path) -> None:
    """The curve as csv writes it (header ``ts,equity``, ``\\r\\n`` line ends), each line of an
    int time and a float built here: csv's writer checked every character of every field for
    quoting, ~11 k instructions a point (a replay writes up to 20,001 of them)."""
    lines = ["ts,equity\r\n"]
    add = lines.append
    last: object = None
    text = ""
    spare: io.StringIO | None = None
    for ts, value in points:
        if type(ts) is int and type(value) is float:
            # A float's shortest repr (dtoa) is made once per run of equal values: the curve
            # repeats while the account is flat. Zero's two signs compare equal, so it is
            # never taken from the last one; NaN never equals itself.
            if value == 0.0:
                add(f"{ts},{value!r}\r\n")
                continue
            if value != last:
                last, text = value, repr(value)
            add(f"{ts},{text}\r\n")
            continue
        if spare is None:
            spare = io.StringIO(newline="")
        spare.seek(0)
        spare.truncate()
        csv.writer(spare).writerow((ts, value))  # anything else, exactly as csv writes it
        add(spare.getvalue())
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write("".join(lines))


def chart_failure(points: Sequence[tuple[int, float]], path: Path, title: str) -> str | None:
    """Draw the equity curve to ``path``: None once drawn, else why not, in a sentence (and
    a warning in the log), with no picture left behind, not even an older run's.

    A replay's figures and CSV files need neither Pillow nor the picture, so a missing
    ``reports`` extra or a PNG that cannot be written costs only this picture, never the run.
    """
    try:
        draw_equity(points, path, title)
    except MissingExtra as exc:
        reason = exc.message
    except OSError as exc:
        reason = f"{path} could not be written ({exc.strerror or exc})."
    else:
        return None
    with suppress(OSError):
        path.unlink(missing_ok=True)
    structlog.get_logger("rampart.reports").warning(
        "equity_chart_skipped", path=str(path), reason=reason
    )
    return reason
