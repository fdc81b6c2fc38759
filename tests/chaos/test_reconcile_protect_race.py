"""A take-profit that fills while reconciliation's protection step cancels it, through the real
ccxt client and the exchange simulator.

Found in a 300-account process run: in an interval pass, accounts booked a take-profit's fills
and then had their cash set (``balance_adjusted``) to a balance read short of those fills by
571 USDT, while the same pass's verdict found the exchange at the books' figure before that.
Step 5 (protection) cancels a pair that no longer fits the position; the cancel's answer
brings back what the take-profit filled since step 4's balance read, and it is booked; step 6
set cash to that older read, undoing the fill's cash. Here the take-profit fills inside the
cancel deterministically. Afterwards the books equal the simulator's, nothing is taken for a
deposit, and the rest of the position rests under a new pair that the exchange accepted.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.events import CapitalChanged, FillBooked, OrderUpdated
from rampart.domain.orders import OrderStatus

from .helpers import SYMBOL, Chaos, chaos

D = Decimal
HOLD = {"a1": {"every": 2, "hold": 100_000}}
THIN = D("0.0001")
"""The simulator's participation while the take-profit is touched: a small part of the order
fills on each candle, so it fills in parts."""


async def _protected(rig: Chaos, limit: int = 60) -> None:
    for _ in range(limit):
        await rig.step()
        if SYMBOL in rig.eng.accounts["a1"].ledger.positions and len(_open(rig)) == 2:
            return
    raise AssertionError("no protected position opened")


def _open(rig: Chaos) -> list[dict[str, object]]:
    return list(rig.sim_state()["open_orders"])


def _take_filled(rig: Chaos) -> D:
    (take,) = [o for o in _open(rig) if o["type"] == "limit"]
    return D(str(take["filled_qty"]))


async def _partly_taken(rig: Chaos, limit: int = 200) -> None:
    """The market reaches the take-profit while Rampart is not looking; part of it fills (and
    the exchange cancels the stop, its OCO partner)."""
    rig.sim.exchange.core.participation = THIN
    for _ in range(limit):
        await rig.market(1)
        if len(_open(rig)) < 2:
            assert _take_filled(rig) > 0, _open(rig)
            return
    raise AssertionError("the take-profit was never reached")


def _fill_during_cancel(rig: Chaos) -> list[D]:
    """The first cancel of the take-profit (step 5's) reaches the exchange only after more of
    it filled, so its answer brings that fill back. Returns what the take-profit had filled
    before and after, once it happened."""
    venue = rig.ven
    real = venue.cancel
    seen: list[D] = []

    async def cancel(account_id: str, client_id: str) -> None:
        if client_id.endswith("-t") and not seen:
            before = _take_filled(rig)
            for _ in range(50):
                rig.sim.exchange.advance(1)
                if _take_filled(rig) > before:
                    break
            seen.extend((before, _take_filled(rig)))
        await real(account_id, client_id)

    venue.cancel = cancel  # type: ignore[method-assign]
    return seen


def test_a_take_profit_filling_during_the_protection_step_keeps_its_cash() -> None:
    """Since the protection leaves a take-profit that has begun to fill to finish (the
    position monitor holds the stop meanwhile), so the cancel this race needed is not sent;
    were it sent, the fill it brings back must keep its cash. Either way the books equal the
    exchange's and nothing is taken for a deposit."""

    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _protected(rig)
            await _partly_taken(rig)
            raced = _fill_during_cancel(rig)
            report = await rig.reconcile(reason="interval")
            acct = rig.eng.accounts["a1"]
            # Every fill of the take-profit is booked, and the books equal the exchange's.
            booked = sum(
                (
                    e.fill.qty
                    for e in rig.events
                    if isinstance(e, FillBooked) and e.fill.client_id.endswith("-t")
                ),
                D(0),
            )
            if raced:
                assert booked == raced[1]
            else:
                (take,) = [o for o in _open(rig) if o["type"] == "limit"]  # left to finish
                assert booked == D(str(take["filled_qty"])) > 0
                assert SYMBOL in acct.guarded  # the monitor holds the stop for the rest
            assert rig.truth() == []
            usdt = rig.sim.exchange.sub("a1").balances()["USDT"].total
            assert acct.ledger.cash == usdt
            # Not a deposit: no cash was set, no capital moved, and the verdict agrees.
            assert report.repairs["balance_adjusted"] == 0, report.to_dict()
            assert not [e for e in rig.events if isinstance(e, CapitalChanged)]
            assert report.differences == []
            rejected = [
                e.order.client_id
                for e in rig.events
                if isinstance(e, OrderUpdated) and e.order.status is OrderStatus.REJECTED
            ]
            assert rejected == []

    asyncio.run(go())
