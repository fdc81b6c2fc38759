"""Reconciliation, steps 5 and 6: a take-profit that fills while the protection step cancels it.

Step 4 reads the venue's balances; step 5 (``protect``) replaces a pair that no longer fits the
position and cancels it first; the cancel brings back a fill of the take-profit that happened
after step 4's read, and it is booked then. Step 6 used to set cash to step 4's read, which
does not hold that fill: the books' cash ended short of the venue's by the fill's proceeds, a
"deposit" was published, and the verdict found the exchange at the books' figure before step 6
(a 300-account process run saw it in an interval pass, 571 USDT short). Now step 6 reads the
balances again once a fill was booked after step 4, and the pair placed in step 5 is sized from
the position after that fill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

from rampart.domain.events import CapitalChanged, FillBooked
from rampart.domain.orders import OrderRole, Side

from .reconcile_rig import SYMBOL, Rig, rig

D = Decimal
FIRST = D(5)
"""Of the take-profit's 20, filled while Rampart was not listening (booked by step 1)."""
RACED = D(7)
"""Of the take-profit's 20, filled after step 4's balance read, brought back by step 5's cancel."""
LEFT = D(20) - FIRST - RACED


async def _raced(
    r: Rig | None = None, after_cancel: Callable[[], None] = lambda: None
) -> tuple[Rig, list[str], dict[str, int], str]:
    """The interval pass with the take-profit filling between step 4's read and step 5's
    cancel; ``after_cancel`` runs before the first balance read after that cancel."""
    r = r or await rig()
    _entry, _stop, take = await r.protected(fee="2")
    # Part of the take-profit fills while the adapter is not listening: the interval pass's
    # poll books it, and the pair (20 and 15 left) no longer fits the position of 15.
    r.venue.listening = False
    r.x.fill(take, FIRST, D(105), D("0.525"))
    r.venue.listening = True
    reads_before_cancel: list[int] = []
    real_cancel = r.venue.cancel

    async def cancel(account_id: str, client_id: str) -> None:
        if client_id == take and not reads_before_cancel:
            # Step 4's read is done; more of the take-profit fills before the cancel arrives.
            reads_before_cancel.append(r.venue.balance_reads)
            r.x.fill(take, RACED, D(105), D("0.735"))
        await real_cancel(account_id, client_id)

    def on_balances(n: int) -> None:
        if reads_before_cancel and n == reads_before_cancel[0]:
            after_cancel()

    r.venue.cancel = cancel  # type: ignore[method-assign]
    r.venue.on_balances = on_balances
    report = await r.reconcile(reason="interval")
    assert reads_before_cancel, "the protection step never canceled the take-profit"
    return r, report.differences, dict(report.repairs), take


def test_a_take_profit_filled_during_the_protection_step_keeps_its_cash() -> None:
    r, differences, repairs, take = asyncio.run(_raced())
    ledger = r.acct.ledger
    sold = [e.fill for e in r.events if isinstance(e, FillBooked) and e.fill.client_id == take]
    assert [f.qty for f in sold] == [FIRST, RACED]  # both fills booked, once each
    # The books hold what the exchange holds: the raced fill's 735 - 0.735 USDT included.
    assert ledger.cash == r.x.cash["a1"]
    assert ledger.positions[SYMBOL].qty == r.x.coins["a1"] == LEFT
    # Nothing was taken for a deposit or withdrawal, and the verdict finds no difference.
    assert "balance_adjusted" not in repairs
    assert not [e for e in r.events if isinstance(e, CapitalChanged)]
    assert ledger.capital == D(10_000)
    assert differences == []


def test_the_pair_placed_after_the_raced_fill_is_sized_from_the_position_after_it() -> None:
    r, _differences, _repairs, _take = asyncio.run(_raced())
    # The position stays protected: one pair rests, for the coins the exchange holds.
    assert r.open_on_exchange() == [
        (OrderRole.STOP_LOSS, LEFT, D("98.00")),
        (OrderRole.TAKE_PROFIT, LEFT, D("105.00")),
    ]
    book = r.acct.bracket_book
    assert not r.acct.guarded and all(book.refusal(s) is None for s in book)
    # No pair was ever asked for more coins than the account held: sized after the fill (an
    # exchange refuses a pair for coins it does not hold).
    legs = [o for o in r.x.orders.values() if o.role.protective]
    assert sorted({o.qty for o in legs}) == [LEFT, D(20)]  # the first pair, then the new one


def test_cash_is_left_alone_when_the_read_after_the_fill_does_not_hold_the_books_coins() -> None:
    """Between the cancel and the read after it, a coin is sold by hand: that read is not one
    of these books (its cash holds a sale they do not know yet), so cash is not set from it;
    the pass says what differs and the next pass books the sale as what it was."""

    async def go() -> tuple[Rig, list[str], dict[str, int], list[str], dict[str, int]]:
        r = await rig()

        def sold_by_hand() -> None:
            r.x.trade_by_hand("a1", Side.SELL, D(1), D(104), D("0.104"), fill_id="web-1")

        r, first, repairs, _take = await _raced(r, sold_by_hand)
        booked_cash = r.acct.ledger.cash
        assert booked_cash == r.x.cash["a1"] - 104 + D("0.104")  # every fill but the sale's
        assert "balance_adjusted" not in repairs
        second = await r.reconcile(reason="interval")
        return r, first, repairs, second.differences, dict(second.repairs)

    r, first, _repairs, second, second_repairs = asyncio.run(go())
    assert any("cash is" in d for d in first), first
    assert second == []
    assert second_repairs.get("external_fill_booked") == 1
    assert "balance_adjusted" not in second_repairs
    assert r.acct.ledger.cash == r.x.cash["a1"]
    assert r.acct.ledger.positions[SYMBOL].qty == r.x.coins["a1"] == LEFT - 1
    assert not [e for e in r.events if isinstance(e, CapitalChanged)]
