"""The shapes an investor's views are handed over in (API, panel and bot read the same ones),
and how a closed trade becomes one; :mod:`rampart.operator.views` fills them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.positions import ClosedTrade
from rampart.operator.profit import PeriodPnl, exit_cause
from rampart.risk.restrictions import Restriction, why


@dataclass(frozen=True, slots=True)
class Portfolio:
    account_id: str
    owner: str
    quote: str
    capital: Decimal
    equity: Decimal
    cash: Decimal
    positions_value: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    pnl_today: Decimal
    fees_paid: Decimal
    open_positions: int
    working_orders: int
    state: str
    paused: bool
    pause_reason: str
    kill_switch: bool
    as_of: int
    restrictions: tuple[Restriction, ...] = ()
    """Why it does not trade normally (kill switch, pause, breaker…), with the figures."""

    @property
    def why(self) -> str:
        return why(self.restrictions)


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    qty: Decimal
    avg_price: Decimal
    mark: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    opened_at: int
    strategy: str
    protection: str = "exchange"
    """What protects it: ``exchange`` (a stop rests on the venue), ``monitor`` (Rampart's
    monitor holds the stop) or ``unprotected``."""
    protection_text: str = "protected by the exchange"
    """The same in the operator's words, with why or since when."""
    unprotected_since: int | None = None
    """Since when (UTC ms) no stop on the exchange covers every coin; None while one does."""
    resting_stop: Decimal | None = None
    """The price of the stop resting on the exchange; None when none rests (``stop_loss`` is
    then a level only Rampart's monitor holds, or nothing holds)."""


@dataclass(frozen=True, slots=True)
class TradeView:
    """A closed trade as investors see it: its id (the entry order's client id) and who or
    what closed it (:func:`rampart.operator.profit.exit_cause`)."""

    trade_id: str
    symbol: str
    strategy: str
    opened_at: int
    closed_at: int
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    gross_pnl: Decimal
    fees: Decimal
    pnl: Decimal
    exit_reason: str
    exit_cause: str


@dataclass(frozen=True, slots=True)
class ProfitView:
    account_id: str
    quote: str
    as_of: int
    """Business time of the last candle processed (UTC ms)."""
    since: int
    """When the account began: days and weeks are listed from there on."""
    realized_today: Decimal
    realized_week: Decimal
    realized_all: Decimal
    unrealized_pnl: Decimal
    trades: int
    wins: int
    losses: int
    win_rate: Decimal | None
    fees: Decimal
    best: TradeView | None
    worst: TradeView | None
    days: list[PeriodPnl]
    weeks: list[PeriodPnl]
    return_today: Decimal | None = None
    """Time-weighted return since 00:00 UTC (business time), net of deposits and withdrawals."""
    return_week: Decimal | None = None
    return_all: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RejectionView:
    ts: int
    symbol: str
    code: str
    message: str
    agent: str


@dataclass(frozen=True, slots=True)
class EquityPointView:
    ts: int
    equity: Decimal


def trade_view(trade: ClosedTrade, exit_order_reason: str | None) -> TradeView:
    return TradeView(
        trade_id=trade.entry_client_id,
        symbol=trade.symbol,
        strategy=trade.strategy,
        opened_at=trade.opened_at,
        closed_at=trade.closed_at,
        qty=trade.qty,
        entry_price=trade.entry_price,
        exit_price=trade.exit_price,
        stop_loss=trade.stop_loss,
        take_profit=trade.take_profit,
        gross_pnl=trade.gross_pnl,
        fees=trade.fees,
        pnl=trade.pnl,
        exit_reason=trade.exit_reason,
        exit_cause=exit_cause(trade.exit_reason, exit_order_reason),
    )
