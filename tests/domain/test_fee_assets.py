"""Fees booked in the asset the venue took them in, over any sequence of fills.

An independent account, kept apart from the ledger, moves each fill's money the way Binance
does (a buy's fee out of the base received, a sell's out of the quote, or BNB): after every fill
the books hold what it holds (cash, the position plus the dust carried, the BNB spent), the
invariant ``equity = cash + Σ position value`` agrees with the PnL view, and a closed trade's
PnL is the cash it moved less the BNB it spent, valued when spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.fills import Fill, Liquidity
from rampart.domain.money import ZERO, floor_to_step
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import FillExceedsPosition, Ledger

D = Decimal
SYMBOLS = ["BTC/USDT", "ETH/USDT"]
LOT = D("0.00001")
RATE = D("0.001")
BNB_PRICE = D("600")
TOLERANCE = D("1e-18")
"""The engine's: both views are exact but for the running average's 28th digit."""

qtys = st.integers(1, 200_000).map(lambda n: D(n) * LOT)
prices = st.integers(100, 10_000_000).map(lambda n: D(n) / 100)
fee_in = st.sampled_from(["quote", "base", "BNB"])
step = st.one_of(
    st.tuples(st.just("buy"), st.sampled_from(SYMBOLS), qtys, prices, fee_in),
    # A sell of a share (1 to 100 %) of what whole lots the position holds; quote or BNB fee.
    st.tuples(
        st.just("sell"),
        st.sampled_from(SYMBOLS),
        st.integers(1, 100),
        prices,
        st.sampled_from(["quote", "BNB"]),
    ),
    st.tuples(st.just("mark"), st.sampled_from(SYMBOLS), st.just(0), prices, st.just("")),
)


@dataclass
class Account:
    """The venue's balances, moved by each fill as the exchange moves them."""

    quote: Decimal
    base: dict[str, Decimal] = field(default_factory=dict)
    bnb_spent: Decimal = ZERO


def _commission(amount: Decimal) -> Decimal:
    return amount.quantize(D("1e-8"), rounding="ROUND_UP")


def _fill(n: int, symbol: str, side: Side, qty: Decimal, price: Decimal, how: str) -> Fill:
    notional = qty * price
    asset, fee_qty, fee = "", ZERO, _commission(notional * RATE)
    if how == "base":
        asset, fee_qty = symbol.split("/")[0], _commission(qty * RATE)
        fee = fee_qty * price
    elif how == "BNB":
        asset, fee_qty = "BNB", _commission(notional * RATE * D("0.75") / BNB_PRICE)
        fee = fee_qty * BNB_PRICE
    return Fill(
        f"f{n}", f"c{n}", "acct", symbol, side, qty, price, fee, Liquidity.TAKER, n,
        fee_asset=asset, fee_qty=fee_qty,
    )  # fmt: skip


def _venue(acct: Account, fill: Fill) -> None:
    base = fill.symbol.split("/")[0]
    held = acct.base.get(base, ZERO)
    notional = fill.qty * fill.price
    sign = 1 if fill.side is Side.BUY else -1
    acct.quote -= sign * notional
    acct.base[base] = held + sign * fill.qty
    if fill.fee_asset == base:
        acct.base[base] -= fill.fee_qty
    elif fill.fee_asset == "BNB":
        acct.bnb_spent += fill.fee_qty
    else:
        acct.quote -= fill.fee


def _check(ledger: Ledger, acct: Account, marks: dict[str, Decimal]) -> None:
    assert ledger.cash == acct.quote
    for symbol in SYMBOLS:
        pos = ledger.positions.get(symbol)
        held = (pos.qty if pos else ZERO) + ledger.dust.get(symbol, ZERO)
        assert held == acct.base.get(symbol.split("/")[0], ZERO)
    assert ledger.fee_assets.get("BNB", ZERO) == acct.bnb_spent
    assert abs(ledger.equity(marks) - ledger.pnl_equity(marks)) <= TOLERANCE


@settings(max_examples=150, deadline=None)
@given(st.lists(step, min_size=1, max_size=30))
def test_the_books_hold_what_the_venue_holds_and_both_views_of_equity_agree(
    steps: list[tuple[str, str, object, Decimal, str]],
) -> None:
    capital = D(10) ** 9
    ledger = Ledger.open("acct", "USDT", capital)
    acct = Account(capital)
    marks: dict[str, Decimal] = {}
    closed_pnl = ZERO
    for n, (kind, symbol, amount, price, how) in enumerate(steps):
        marks[symbol] = price
        if kind == "mark":
            _check(ledger, acct, marks)
            continue
        if kind == "buy":
            assert isinstance(amount, Decimal)
            fill = _fill(n, symbol, Side.BUY, amount, price, how)
            ledger.apply_fill(fill, OrderRole.ENTRY, "s")
        else:
            pos = ledger.positions.get(symbol)
            if pos is None:
                continue
            assert isinstance(amount, int)
            whole = floor_to_step(pos.qty, LOT)
            qty = whole if amount == 100 else floor_to_step(whole * amount / 100, LOT)
            if qty <= ZERO:
                continue
            fill = _fill(n, symbol, Side.SELL, qty, price, how)
            trade = ledger.apply_fill(fill, OrderRole.EXIT, "s")
            if trade is None and floor_to_step(ledger.positions[symbol].qty, LOT) == ZERO:
                trade = ledger.retire_dust(symbol, n)
            if trade is not None:
                closed_pnl += trade.pnl
        _venue(acct, fill)
        _check(ledger, acct, marks)
    assert ledger.realized_pnl == closed_pnl
    if not ledger.positions:
        # Flat: capital, plus what the trades made, is the cash and the BNB spent on fees.
        assert ledger.cash == capital + ledger.realized_pnl + ledger.fees_elsewhere


def test_a_buy_paid_in_base_holds_less_and_costs_the_same_cash() -> None:
    ledger = Ledger.open("acct", "USDT", D(10_000))
    buy = _fill(1, "BTC/USDT", Side.BUY, D("0.01234"), D(40_000), "base")
    ledger.apply_fill(buy, OrderRole.ENTRY, "s")
    pos = ledger.positions["BTC/USDT"]
    assert pos.qty == D("0.01232766") and pos.avg_price == D(40_000)
    assert ledger.cash == D(10_000) - D("493.6")  # the notional: the fee came out of the coins
    assert pos.entry_fees == ledger.fees_paid == D("0.00001234") * 40_000
    # Selling more than the coins held is a fill the books cannot explain.
    try:
        ledger.apply_fill(_fill(2, "BTC/USDT", Side.SELL, D("0.01234"), D(1), "quote"),
                          OrderRole.EXIT, "s")  # fmt: skip
    except FillExceedsPosition as exc:
        assert exc.held == D("0.01232766")
    else:
        raise AssertionError("a sell of the full order quantity was booked")


def test_dust_is_written_off_at_cost_and_comes_back_with_the_next_position() -> None:
    ledger = Ledger.open("acct", "USDT", D(10_000))
    ledger.apply_fill(_fill(1, "BTC/USDT", Side.BUY, D("0.01234"), D(40_000), "base"),
                      OrderRole.ENTRY, "s")  # fmt: skip
    sold = ledger.apply_fill(_fill(2, "BTC/USDT", Side.SELL, D("0.01232"), D(41_000), "quote"),
                             OrderRole.TAKE_PROFIT, "s")  # fmt: skip
    assert sold is None and ledger.positions["BTC/USDT"].qty == D("0.00000766")
    trade = ledger.retire_dust("BTC/USDT", 3)
    assert trade.exit_reason == "take_profit" and "BTC/USDT" not in ledger.positions
    assert ledger.dust == {"BTC/USDT": D("0.00000766")}
    # The PnL is the cash the trade moved: the dust's cost is in it.
    assert trade.pnl == ledger.cash - D(10_000) == ledger.realized_pnl
    ledger.apply_fill(_fill(4, "BTC/USDT", Side.BUY, D("0.01"), D(40_000), "base"),
                      OrderRole.ENTRY, "s")  # fmt: skip
    assert ledger.dust == {}
    assert ledger.positions["BTC/USDT"].qty == D("0.00999") + D("0.00000766")
    marks = {"BTC/USDT": D(40_500)}
    assert abs(ledger.equity(marks) - ledger.pnl_equity(marks)) <= TOLERANCE
