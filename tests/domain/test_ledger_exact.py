"""A closed trade's PnL is exactly the cash it moved, even when the running average price
cannot be written in 28 digits: equity then reconciles with capital plus the trades to the
last digit (a replay's summary.json and trades.csv must add up)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import Ledger

D = Decimal
SYM = "BTC/USDT"


def _fill(n: int, side: Side, qty: Decimal, price: Decimal, fee: Decimal = D(0)) -> Fill:
    return Fill(f"f{n}", f"c{n}", "acct", SYM, side, qty, price, fee, Liquidity.TAKER, n)


def test_a_thirds_average_still_closes_at_the_exact_cash() -> None:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    ledger.apply_fill(_fill(1, Side.BUY, D(1), D(1)), OrderRole.ENTRY, "s")
    ledger.apply_fill(_fill(2, Side.BUY, D(2), D(2)), OrderRole.ENTRY, "s")  # average 5/3
    trade = ledger.apply_fill(_fill(3, Side.SELL, D(3), D(3)), OrderRole.EXIT, "")
    assert trade is not None
    assert trade.gross_pnl == D(4)  # 9 received − 5 paid; (3 − 1.666…7) × 3 is 3.999…9
    assert ledger.cash == D(1004) == ledger.capital + ledger.realized_pnl


prices = st.decimals(min_value=D("0.0001"), max_value=D(100_000), places=4)
quantities = st.decimals(min_value=D("0.001"), max_value=D(1_000), places=3)
fees = st.decimals(min_value=D(0), max_value=D(5), places=4)


@given(
    buys=st.lists(st.tuples(quantities, prices, fees), min_size=1, max_size=6),
    sells=st.lists(st.tuples(st.integers(1, 100), prices, fees), min_size=1, max_size=4),
)
def test_cash_equals_capital_plus_closed_trades_exactly(
    buys: list[tuple[Decimal, Decimal, Decimal]],
    sells: list[tuple[int, Decimal, Decimal]],
) -> None:
    ledger = Ledger.open("acct", "USDT", D(10) ** 12)
    n = 0
    for qty, price, fee in buys:
        n += 1
        ledger.apply_fill(_fill(n, Side.BUY, qty, price, fee), OrderRole.ENTRY, "s")
    held = ledger.positions[SYM].qty
    pnl = D(0)
    for i, (share, price, fee) in enumerate(sells):
        n += 1
        last = i == len(sells) - 1
        qty = held if last else min(held, (held * share / 100).quantize(D("0.001")))
        if qty <= 0:
            continue
        trade = ledger.apply_fill(_fill(n, Side.SELL, qty, price, fee), OrderRole.EXIT, "")
        held -= qty
        if trade is not None:
            pnl += trade.pnl
    assert SYM not in ledger.positions
    assert ledger.cash == ledger.capital + pnl
    assert ledger.realized_pnl == pnl
