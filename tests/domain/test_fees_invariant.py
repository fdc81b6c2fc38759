"""Fees are counted once: an account's ``fees_paid`` and a position's entry and exit fees are
the sums of the fees of the fills booked into them, over any sequence of fills.

``fees_paid`` takes no part in the equity identity (cash already pays each fee), so a fee
counted twice there would leave every other invariant intact while investors, through the API
and the bot, see twice the fees they paid. Only a direct sum over the fills catches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.fills import Fill, Liquidity
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import Adjustment, ClosedTrade, Ledger

D = Decimal
SYMBOLS = ["BTC/USDT", "ETH/USDT"]

# Whole steps, so every sum is exact and the invariant can be an equality.
qtys = st.integers(1, 5_000).map(lambda n: D(n) / 1000)
prices = st.integers(1, 10_000_000).map(lambda n: D(n) / 100)
fees = st.one_of(st.just(ZERO), st.integers(1, 10**6).map(lambda n: D(n) / 10**4))

step = st.one_of(
    st.tuples(st.just("buy"), st.sampled_from(SYMBOLS), qtys, prices, fees),
    # A sell of a share of what is held (1 to 100 %): the whole position closes it.
    st.tuples(st.just("sell"), st.sampled_from(SYMBOLS), st.integers(1, 100), prices, fees),
    # A late fill for quantity reconciliation had already taken out (see Ledger.apply_correction).
    st.tuples(st.just("correct"), st.sampled_from(SYMBOLS), qtys, prices, fees),
)


@dataclass
class Books:
    """What the fills say, kept apart from the ledger: the expected fee figures."""

    all_fees: Decimal = ZERO
    corrections: Decimal = ZERO
    entry: dict[str, Decimal] = field(default_factory=dict)
    exit: dict[str, Decimal] = field(default_factory=dict)
    closed: list[tuple[ClosedTrade, Decimal]] = field(default_factory=list)


def _fill(n: int, symbol: str, side: Side, qty: Decimal, price: Decimal, fee: Decimal) -> Fill:
    return Fill(f"f{n}", f"c{n}", "acct", symbol, side, qty, price, fee, Liquidity.TAKER, n)


def _apply(ledger: Ledger, books: Books, n: int, op: tuple) -> None:
    kind, symbol, amount, price, fee = op
    if kind == "buy":
        ledger.apply_fill(_fill(n, symbol, Side.BUY, amount, price, fee), OrderRole.ENTRY, "s")
        books.entry[symbol] = books.entry.get(symbol, ZERO) + fee
    elif kind == "sell":
        pos = ledger.positions.get(symbol)
        if pos is None:
            return
        qty = pos.qty if amount == 100 else (pos.qty * amount / 100).quantize(D("0.00001"))
        if qty <= ZERO:
            return
        fill = _fill(n, symbol, Side.SELL, qty, price, fee)
        trade = ledger.apply_fill(fill, OrderRole.EXIT, "s")
        books.exit[symbol] = books.exit.get(symbol, ZERO) + fee
        if trade is not None:
            # The trade's fees are the fees of every fill of its life, entries and exits.
            books.closed.append((trade, books.entry.pop(symbol) + books.exit.pop(symbol)))
    else:
        adjustment = Adjustment(symbol, amount, price, n)
        ledger.apply_correction(_fill(n, symbol, Side.SELL, amount, price, fee), adjustment)
        books.corrections += fee
    books.all_fees += fee


def _check(ledger: Ledger, books: Books) -> None:
    assert ledger.fees_paid == books.all_fees
    for symbol, pos in ledger.positions.items():
        assert pos.entry_fees == books.entry[symbol]
        assert pos.exit_fees == books.exit.get(symbol, ZERO)
    for trade, expected in books.closed:
        assert trade.fees == expected
        assert trade.pnl == trade.gross_pnl - trade.fees
    # The same money by two routes: every fee booked is in a closed trade, an open position
    # or a correction, and in fees_paid exactly once.
    in_positions = sum((p.entry_fees + p.exit_fees for p in ledger.positions.values()), ZERO)
    in_trades = sum((t.fees for t, _ in books.closed), ZERO)
    assert ledger.fees_paid == in_positions + in_trades + books.corrections


@settings(max_examples=200, deadline=None)
@given(st.lists(step, min_size=1, max_size=40))
def test_fees_paid_is_the_sum_of_the_fill_fees(ops: list[tuple]) -> None:
    ledger = Ledger.open("acct", "USDT", D("1000000"))
    books = Books()
    for n, op in enumerate(ops):
        _apply(ledger, books, n, op)
        _check(ledger, books)


def test_one_round_trip_books_each_fee_once() -> None:
    # The plain case in numbers: 0.10 in, 0.12 out is 0.22 paid, not 0.44.
    ledger = Ledger.open("acct", "USDT", D("1000"))
    ledger.apply_fill(
        _fill(1, "BTC/USDT", Side.BUY, D("1"), D("100"), D("0.10")), OrderRole.ENTRY, "s"
    )
    assert ledger.fees_paid == D("0.10")
    assert ledger.positions["BTC/USDT"].entry_fees == D("0.10")
    trade = ledger.apply_fill(
        _fill(2, "BTC/USDT", Side.SELL, D("1"), D("120"), D("0.12")), OrderRole.TAKE_PROFIT, "s"
    )
    assert trade is not None and trade.fees == D("0.22")
    assert ledger.fees_paid == D("0.22")
    assert ledger.cash == D("1000") - D("100.10") + D("119.88")


def test_a_correction_books_its_fee_once() -> None:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    adjustment = Adjustment("BTC/USDT", D("2"), D("100"), 1)
    fill = _fill(2, "BTC/USDT", Side.SELL, D("1"), D("101"), D("0.05"))
    assert ledger.apply_correction(fill, adjustment) == D("0.95")
    assert ledger.fees_paid == D("0.05") and ledger.fills_booked == 1
