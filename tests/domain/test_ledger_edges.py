"""Ledger cases the fee and trade properties do not reach: a sell whose fee the venue takes
from the coins sold, and a position that never sold anything retired as dust."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import Ledger

D = Decimal
SYMBOL = "BTC/USDT"


def _fill(n: int, side: Side, qty: str, price: str, fee: str, fee_asset: str = "",
          fee_qty: str = "0") -> Fill:  # fmt: skip
    return Fill(
        f"f{n}", f"c{n}", "acct", SYMBOL, side, D(qty), D(price), D(fee), Liquidity.TAKER, n,
        fee_asset=fee_asset, fee_qty=D(fee_qty),
    )  # fmt: skip


def test_a_sell_paying_its_fee_in_the_coins_sold_gives_up_more_coins_not_cash() -> None:
    ledger = Ledger.open("acct", "USDT", D(10_000))
    ledger.apply_fill(_fill(1, Side.BUY, "1", "100", "0.1"), OrderRole.ENTRY, "s")
    assert ledger.cash == D("9899.9")
    # 0.5 BTC sold at 120, the venue keeping 0.001 BTC more (worth 0.12) as its fee.
    sold = ledger.apply_fill(
        _fill(2, Side.SELL, "0.5", "120", "0.12", "BTC", "0.001"), OrderRole.TAKE_PROFIT, "s"
    )
    assert sold is None
    assert ledger.positions[SYMBOL].qty == D("0.499")
    assert ledger.cash == D("9959.9")  # the whole notional: the fee came out of the coins
    trade = ledger.apply_fill(_fill(3, Side.SELL, "0.499", "120", "0"), OrderRole.EXIT, "s")
    assert trade is not None
    assert ledger.cash == D("10019.78")
    # Every coin bought went at 120: 20 gross, less 0.1 and 0.12 of fees, which is the cash.
    assert (trade.exit_price, trade.gross_pnl, trade.fees) == (D(120), D(20), D("0.22"))
    assert trade.pnl == D("19.78") == ledger.cash - ledger.capital == ledger.realized_pnl


def test_a_position_that_never_sold_is_closed_as_dust() -> None:
    ledger = Ledger.open("acct", "USDT", D(10_000))
    # An entry that filled less than a lot: nothing can sell it.
    ledger.apply_fill(_fill(1, Side.BUY, "0.000005", "40000", "0.0002"), OrderRole.ENTRY, "s")
    trade = ledger.retire_dust(SYMBOL, 2)
    assert trade.exit_reason == "dust"
    assert (trade.qty, trade.entry_price, trade.exit_price) == (D("0.000005"), D(40000), D(40000))
    assert trade.pnl == D("-0.2002") == ledger.realized_pnl  # written off at cost, fee included
    assert ledger.dust == {SYMBOL: D("0.000005")} and SYMBOL not in ledger.positions
