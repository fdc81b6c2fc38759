"""A position's life in the ledger, in figures: what opening records, what each fill adds and
the closed trade it ends in, field by field.

Found by mutation testing (docs/mutation.md): the engine's invariants compare cash with PnL,
which a wrong counter or a closed trade with a wrong field leaves equal; the trade is what
reports, the API and the breakers read.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import ClosedTrade, FillExceedsPosition, Ledger

D = Decimal
SYM = "BTC/USDT"


def _fill(n: int, side: Side, qty: str, price: str, fee: str = "0") -> Fill:
    return Fill(f"f{n}", f"c{n}", "acct", SYM, side, D(qty), D(price), D(fee), Liquidity.TAKER, n)


def test_opening_records_who_when_and_the_bracket() -> None:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    assert (ledger.account_id, ledger.quote, ledger.capital, ledger.cash) == (
        "acct", "USDT", D("1000"), D("1000"),
    )  # fmt: skip
    ledger.apply_fill(_fill(1, Side.BUY, "2", "100", "0.2"), OrderRole.ENTRY, "trend", D("95"),
                      D("110"))  # fmt: skip
    pos = ledger.positions[SYM]
    # No entry id given: the entry fill's own client id names the position.
    assert (pos.strategy, pos.entry_client_id, pos.opened_at) == ("trend", "c1", 1)
    assert (pos.stop_loss, pos.take_profit, pos.initial_stop) == (D("95"), D("110"), D("95"))
    assert (pos.qty, pos.avg_price, pos.bought_qty, pos.bought_value) == (
        D("2"), D("100"), D("2"), D("200"),
    )  # fmt: skip
    assert ledger.cash == D("799.8") and ledger.fills_booked == 1


def test_a_given_entry_id_names_the_position() -> None:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    ledger.apply_fill(_fill(1, Side.BUY, "1", "100"), OrderRole.ENTRY, "s", entry_client_id="e-7")
    assert ledger.positions[SYM].entry_client_id == "e-7"


def test_a_round_trip_in_pieces_closes_one_trade_with_every_field() -> None:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    ledger.apply_fill(_fill(1, Side.BUY, "1", "100", "0.1"), OrderRole.ENTRY, "trend", D("90"),
                      D("130"), "e-1")  # fmt: skip
    ledger.apply_fill(_fill(2, Side.BUY, "1", "110", "0.1"), OrderRole.ENTRY, "trend")
    assert ledger.apply_fill(_fill(3, Side.SELL, "0.5", "120", "0.05"), OrderRole.EXIT, "") is None
    pos = ledger.positions[SYM]
    assert (pos.qty, pos.sold_qty, pos.sold_value) == (D("1.5"), D("0.5"), D("60"))
    assert pos.realized_gross == D("7.5")  # (120 − 105) × 0.5
    trade = ledger.apply_fill(
        _fill(4, Side.SELL, "1.5", "130", "0.15"), OrderRole.TAKE_PROFIT, "", exit_reason=None
    )
    assert trade == ClosedTrade(
        account_id="acct",
        symbol=SYM,
        strategy="trend",
        entry_client_id="e-1",
        opened_at=1,
        closed_at=4,
        qty=D("2"),
        entry_price=D("105"),  # the mean of every buy
        exit_price=D("127.5"),  # (60 + 195) / 2
        gross_pnl=D("45"),  # 7.5 + (130 − 105) × 1.5
        fees=D("0.4"),
        pnl=D("44.6"),
        exit_reason="take_profit",
        stop_loss=D("90"),
        take_profit=D("130"),
        risk=D("30"),  # (105 − 90) × 2
        final_stop=D("90"),  # never moved
        entries=2,  # two buy orders, two sells
        exits=2,
    )
    assert SYM not in ledger.positions
    assert (ledger.trades_closed, ledger.fills_booked, ledger.realized_pnl) == (1, 4, D("44.6"))
    # A second round trip counts as a second trade, with its own exit reason.
    ledger.apply_fill(_fill(5, Side.BUY, "1", "100"), OrderRole.ENTRY, "trend", D("90"), D("130"))
    again = ledger.apply_fill(
        _fill(6, Side.SELL, "1", "95"), OrderRole.EXIT, "", exit_reason="manual"
    )
    assert again is not None and again.exit_reason == "manual" and again.pnl == D("-5")
    assert ledger.trades_closed == 2


@pytest.mark.parametrize(("held", "sell"), [(None, "1"), ("1", "1.5")])
def test_a_sell_past_the_position_changes_nothing(held: str | None, sell: str) -> None:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    if held is not None:
        ledger.apply_fill(_fill(1, Side.BUY, held, "100"), OrderRole.ENTRY, "s")
    before = (ledger.cash, ledger.fills_booked, ledger.fees_paid)
    fill = _fill(2, Side.SELL, sell, "100", "0.1")
    with pytest.raises(FillExceedsPosition) as err:
        ledger.apply_fill(fill, OrderRole.EXIT, "s")
    assert err.value.fill is fill and err.value.held == D(held or "0")
    assert str(err.value) == f"sell of {sell} {SYM} exceeds the position of {held or '0'}"
    assert (ledger.cash, ledger.fills_booked, ledger.fees_paid) == before


def test_a_negative_fee_is_refused() -> None:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    with pytest.raises(ValueError) as err:
        ledger.apply_fill(_fill(1, Side.BUY, "1", "100", "-0.1"), OrderRole.ENTRY, "s")
    assert str(err.value) == "fees are never negative"
    assert ledger.positions == {} and ledger.fills_booked == 0
