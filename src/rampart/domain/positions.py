"""Spot positions, closed trades and the account ledger.

Accounts hold cash in one quote currency and long spot positions (a spot account cannot be
short). The ledger keeps two independent views of the same money — cash flows and PnL — so the
invariant ``equity = cash + Σ position value`` can be checked against ``capital + realized PnL
+ open PnL`` after every event.

A fee is booked in the asset the venue took it in, and charged to PnL at its value in the quote
(:attr:`Fill.fee`): from the cash when the venue took quote; from the coins received when it
took the base asset (a buy on Binance: the position holds ``qty - fee``, exactly what the
account holds); from a balance the books do not hold when it took a third asset (BNB), which
:attr:`Ledger.fee_assets` counts and :attr:`Ledger.fees_elsewhere` values, so the PnL view adds
it back to stay equal to the cash view.

What one lot cannot express is dust: a position left with less than a lot after its sells is
closed with that remainder written off at cost into the trade's PnL (:meth:`Ledger.retire_dust`)
and carried in :attr:`Ledger.dust`, still on the venue; the next position on the symbol takes it
back at no cost, so it is sold with that position's coins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from operator import attrgetter

from rampart.domain.errors import present
from rampart.domain.fills import Fill
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, Side
from rampart.domain.quick import quick_init


@dataclass(slots=True)
class Position:
    symbol: str
    strategy: str
    entry_client_id: str
    opened_at: int
    stop_loss: Decimal
    take_profit: Decimal
    qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    bought_qty: Decimal = ZERO
    bought_value: Decimal = ZERO
    sold_qty: Decimal = ZERO
    sold_value: Decimal = ZERO
    realized_gross: Decimal = ZERO
    entry_fees: Decimal = ZERO
    exit_fees: Decimal = ZERO
    initial_stop: Decimal = ZERO
    last_exit: str = ""
    """Why the last sell sold (its order's role, or the exit reason given)."""
    entries: int = 0
    exits: int = 0
    """Orders that bought into the position and that sold out of it (an agent
    scales in and out; a replay's trades.csv shows both)."""
    last_buy: str = ""
    last_sell: str = ""
    """The client ids of the last buy and sell booked: a new id is one more entry or exit
    (an order filled in parts is one)."""

    def copy(self) -> Position:
        """A position equal to this one that shares nothing with it (an agent's view gets one:
        what it writes there never reaches the ledger)."""
        return Position(*_fields_of(self))

    def market_value(self, mark: Decimal) -> Decimal:
        return self.qty * mark

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.avg_price) * self.qty

    def net_pnl(self, mark: Decimal) -> Decimal:
        """Everything this position has made or lost so far, fees included."""
        unrealized = self.unrealized(mark)
        return (self.realized_gross + unrealized - self.entry_fees) - self.exit_fees

    def loss_at_stop(self) -> Decimal:
        """What the position loses if its stop-loss fills at its price (entry fees included);
        zero for a stop at or above the entry."""
        return max(-self.net_pnl(self.stop_loss), ZERO)


_fields_of = attrgetter(*(f.name for f in fields(Position)))
"""Every field of a position, in order (one C call: a view is built on every decision)."""


@quick_init
@dataclass(frozen=True, slots=True)
class ClosedTrade:
    account_id: str
    symbol: str
    strategy: str
    entry_client_id: str
    opened_at: int
    closed_at: int
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    gross_pnl: Decimal
    fees: Decimal
    pnl: Decimal
    exit_reason: str
    stop_loss: Decimal
    take_profit: Decimal
    risk: Decimal
    """Initial risk: (entry − initial stop) × quantity."""
    final_stop: Decimal = ZERO
    """The stop-loss when the trade closed (above ``stop_loss`` once a stop trailed up);
    zero when not known (a trade read back from the database)."""
    entries: int = 0
    exits: int = 0
    """Orders that bought and sold it; zero when not known."""

    @property
    def r_multiple(self) -> Decimal:
        return self.pnl / self.risk if self.risk > ZERO else ZERO

    @property
    def planned_reward_risk(self) -> Decimal:
        stop_dist = self.entry_price - self.stop_loss
        if stop_dist <= ZERO:
            return ZERO
        return (self.take_profit - self.entry_price) / stop_dist


class FillExceedsPosition(ValueError):
    """A sell fill for more than the books hold: the books missed something the venue did."""

    def __init__(self, fill: Fill, held: Decimal) -> None:
        super().__init__(f"sell of {fill.qty} {fill.symbol} exceeds the position of {held}")
        self.fill = fill
        self.held = held


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Quantity reconciliation took out of a position at an assumed price, because no fill
    explained it. A real fill that arrives later is booked against it (see
    :meth:`Ledger.apply_correction`)."""

    symbol: str
    qty: Decimal
    price: Decimal
    ts: int
    cash_settled: bool = False
    """Cash was later set to the venue's figure (as a deposit or withdrawal), so the money
    this fill moves is already in the cash: a correction reclassifies it as PnL."""


@dataclass(slots=True)
class Ledger:
    """One account's money: cash in the quote currency and its open positions."""

    account_id: str
    quote: str
    capital: Decimal
    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    trades_closed: int = 0
    fills_booked: int = 0
    fee_assets: dict[str, Decimal] = field(default_factory=dict)
    """Fees taken in a third asset (BNB), by asset: paid from a balance the books do not hold."""
    fees_elsewhere: Decimal = ZERO
    """Those fees' value in the quote when they were taken: PnL paid them, the cash did not."""
    dust: dict[str, Decimal] = field(default_factory=dict)
    """Per symbol, base coins left on the venue below one lot, written off at cost."""

    @classmethod
    def open(cls, account_id: str, quote: str, capital: Decimal) -> Ledger:
        return cls(account_id=account_id, quote=quote, capital=capital, cash=capital)

    def positions_value(self, marks: dict[str, Decimal]) -> Decimal:
        # Asked several times per candle: a plain loop (no generator), the same sum in the
        # same order as ``sum(..., ZERO)``, so the result is identical to the last digit.
        total = ZERO
        for symbol, pos in self.positions.items():
            total += pos.qty * marks.get(symbol, pos.avg_price)  # its market_value
        return total

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        positions = self.positions
        if not positions:
            return self.cash + ZERO  # what adding an empty sum gives, exponent included
        return self.cash + self.positions_value(marks)

    def pnl_equity(self, marks: dict[str, Decimal]) -> Decimal:
        """Equity computed from PnL instead of cash flows; must equal :meth:`equity`."""
        # sum() over a generator written as its loop (asked after every fill): the same
        # additions from the same int 0, so the same Decimal.
        open_pnl: Decimal | int = 0
        for s, p in self.positions.items():
            open_pnl = open_pnl + p.net_pnl(marks.get(s, p.avg_price))
        return self.capital + self.realized_pnl + open_pnl + self.fees_elsewhere

    def apply_fill(
        self,
        fill: Fill,
        role: OrderRole,
        strategy: str,
        stop_loss: Decimal = ZERO,
        take_profit: Decimal = ZERO,
        entry_client_id: str = "",
        exit_reason: str | None = None,
    ) -> ClosedTrade | None:
        """Book one fill. Returns the closed trade when the fill makes the position flat.

        A sell larger than the position raises :class:`FillExceedsPosition` before anything
        changes, so a caller can explain it (or refuse it) with the books intact."""
        if fill.fee < ZERO or fill.fee_qty < ZERO:
            raise ValueError("fees are never negative")
        pos = self.positions.get(fill.symbol)
        moved, value, cash_fee = self._moved(fill)
        if fill.side is Side.SELL and (pos is None or moved > pos.qty):
            raise FillExceedsPosition(fill, pos.qty if pos else ZERO)
        self.fills_booked += 1
        self.fees_paid += fill.fee
        if fill.side is Side.BUY:
            self.cash -= fill.notional + cash_fee
            if pos is None:
                pos = Position(
                    symbol=fill.symbol,
                    strategy=strategy,
                    entry_client_id=entry_client_id or fill.client_id,
                    opened_at=fill.ts,
                    stop_loss=stop_loss,
                    take_profit=take_profit,
                    initial_stop=stop_loss,
                )
                self.positions[fill.symbol] = pos
                carried = self.dust.pop(fill.symbol, ZERO)
                if carried > ZERO:  # dust written off earlier comes back at no cost
                    pos.qty = pos.bought_qty = carried
            new_qty = pos.qty + moved
            pos.avg_price = (pos.avg_price * pos.qty + fill.price * moved) / new_qty
            pos.qty = new_qty
            pos.bought_qty += moved
            pos.bought_value += value
            pos.entry_fees += fill.fee
            if fill.client_id != pos.last_buy:
                pos.last_buy = fill.client_id
                pos.entries += 1
            return None

        pos = present(pos, f"the {fill.symbol} position a sell closes")  # checked above
        self.cash += fill.notional - cash_fee
        pos.realized_gross += (fill.price - pos.avg_price) * moved
        pos.exit_fees += fill.fee
        pos.sold_qty += moved
        pos.sold_value += value
        pos.qty -= moved
        pos.last_exit = exit_reason or str(role)
        if fill.client_id != pos.last_sell:
            pos.last_sell = fill.client_id
            pos.exits += 1
        if pos.qty > ZERO:
            return None
        return self._close(pos, fill.ts)

    def _moved(self, fill: Fill) -> tuple[Decimal, Decimal, Decimal]:
        """(base quantity the position gains or loses, its value, the fee paid from cash)."""
        asset = fill.fee_asset
        if not asset or asset == self.quote:
            return fill.qty, fill.notional, fill.fee
        if fill.symbol.partition("/")[0] == asset:
            # Taken from the coins: a buy receives fewer, a sell gives up more.
            if fill.side is Side.BUY:
                return fill.qty - fill.fee_qty, fill.notional - fill.fee, ZERO
            return fill.qty + fill.fee_qty, fill.notional + fill.fee, ZERO
        self.fee_assets[asset] = self.fee_assets.get(asset, ZERO) + fill.fee_qty
        self.fees_elsewhere += fill.fee
        return fill.qty, fill.notional, ZERO

    def retire_dust(self, symbol: str, ts: int) -> ClosedTrade:
        """Close a position holding less than the venue's smallest order: the coins stay on
        the venue as :attr:`dust`, written off at cost into the trade's PnL."""
        pos = self.positions[symbol]
        self.dust[symbol] = self.dust.get(symbol, ZERO) + pos.qty
        pos.qty = ZERO
        return self._close(pos, ts)

    def _close(self, pos: Position, ts: int) -> ClosedTrade:
        del self.positions[pos.symbol]
        # Closed, every coin bought was sold: its gross PnL is exactly the cash that moved,
        # not the sum of (price - running average) terms whose average was rounded to 28
        # digits, so equity reconciles with capital plus the trades to the last digit.
        pos.realized_gross = pos.sold_value - pos.bought_value
        fees = pos.entry_fees + pos.exit_fees
        pnl = pos.realized_gross - fees
        self.realized_pnl += pnl
        self.trades_closed += 1
        # The mean price of every buy: the running average cost moves once sells interleave.
        entry_price = pos.bought_value / pos.bought_qty
        exit_price = pos.sold_value / pos.sold_qty if pos.sold_qty > ZERO else entry_price
        return ClosedTrade(
            account_id=self.account_id,
            symbol=pos.symbol,
            strategy=pos.strategy,
            entry_client_id=pos.entry_client_id,
            opened_at=pos.opened_at,
            closed_at=ts,
            qty=pos.bought_qty,
            entry_price=entry_price,
            exit_price=exit_price,
            gross_pnl=pos.realized_gross,
            fees=fees,
            pnl=pnl,
            exit_reason=pos.last_exit or "dust",
            stop_loss=pos.initial_stop,
            take_profit=pos.take_profit,
            risk=max(entry_price - pos.initial_stop, ZERO) * pos.bought_qty,
            final_stop=pos.stop_loss,
            entries=pos.entries,
            exits=pos.exits,
        )

    def apply_correction(self, fill: Fill, adjustment: Adjustment) -> Decimal:
        """Book a sell fill that explains (part of) an earlier adjustment: the quantity left
        the books then, at ``adjustment.price``; this fill says at what price and fee it really
        went. Cash and realised PnL move by the difference; returns it."""
        if fill.side is not Side.SELL or fill.qty > adjustment.qty:
            raise FillExceedsPosition(fill, ZERO)
        if fill.fee < ZERO:
            raise ValueError("fees are never negative")
        delta = fill.qty * (fill.price - adjustment.price) - fill.fee
        if adjustment.cash_settled:
            self.capital -= delta
        else:
            self.cash += delta
        self.realized_pnl += delta
        self.fees_paid += fill.fee
        self.fills_booked += 1
        return delta
