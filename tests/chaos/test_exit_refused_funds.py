"""A market sell refused for lack of free coins right after the pair's cancel is re-sized to
the coins the exchange holds free and sent again; what still cannot go is said in words, and
the coins left stay covered. The real ccxt client against the exchange simulator, whose
matching refuses a sell beyond the free balance as Binance does (-2010 "Account has
insufficient balance for requested action.")."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from structlog.testing import capture_logs

from rampart.domain.orders import OrderRole, OrderStatus
from rampart.trading.moves import reduce_position
from rampart.trading.protection_state import Cover, read

from .helpers import SYMBOL, Chaos, chaos

HOLD = {"a1": {"every": 2, "hold": 100_000}}


async def _position(rig: Chaos) -> Decimal:
    for _ in range(40):
        await rig.step()
        pos = rig.eng.accounts["a1"].ledger.positions.get(SYMBOL)
        if pos is not None and not rig.eng.accounts["a1"].working(SYMBOL, (OrderRole.ENTRY,)):
            return pos.qty
    raise AssertionError("no position opened")


def _taken_outside_the_books(rig: Chaos, qty: Decimal) -> None:
    """Coins leave the account without the books knowing (a fee in the coin, a transfer):
    the free balance is lower than the books think once the pair's lock is gone."""
    rig.sim.exchange.sub("a1").totals["BTC"] -= qty


def _exits(rig: Chaos) -> list[tuple[OrderStatus, Decimal, Decimal]]:
    acct = rig.eng.accounts["a1"]
    return [(o.status, o.qty, o.filled_qty) for o in acct.recent_orders if o.role is OrderRole.EXIT]


def test_a_sell_refused_for_lack_of_free_coins_is_resized_to_them_and_sent_again() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            floor = rig.ven.instrument(SYMBOL).floor_qty
            held = await _position(rig)
            gone = floor(held * Decimal("0.3"))
            _taken_outside_the_books(rig, gone)
            acct = rig.eng.accounts["a1"]
            await rig.eng.executor.exit_position(acct, SYMBOL, "the agent closes")
            await rig.sim.idle()
            await rig.step()
            exits = _exits(rig)
            assert len(exits) >= 2, f"the refused sell is sent again: {exits}"
            refused, resized = exits[:2]
            assert refused[0] is OrderStatus.REJECTED and refused[1] == floor(held)
            free = floor(held - gone)
            assert resized[1] == free, "sized to the free coins, in whole lots"
            assert resized[0] is OrderStatus.FILLED and resized[2] == free
            assert rig.sim.exchange.sub("a1").totals["BTC"] < Decimal("0.00001")

    asyncio.run(go())


def test_a_sell_that_still_cannot_go_is_said_in_words_and_the_coins_stay_covered() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            held = await _position(rig)
            # Every coin but less than the market's minimum order leaves outside the books.
            _taken_outside_the_books(rig, held - Decimal("0.00001"))
            acct = rig.eng.accounts["a1"]
            with capture_logs() as logs:
                await rig.eng.executor.exit_position(acct, SYMBOL, "the agent closes")
                await rig.sim.idle()
            said = [e for e in logs if e["event"] == "exit_refused"]
            assert len(said) == 1, f"the operator is told once, in words: {said}"
            (said,) = said
            assert "was refused for lack of free coins" in said["text"]
            assert "Rampart's monitor holds it" in said["text"]
            assert [s for s, _, _ in _exits(rig)] == [OrderStatus.REJECTED]
            pos = acct.ledger.positions[SYMBOL]
            now = rig.clock.now_ms()
            floor = rig.ven.instrument(SYMBOL).floor_qty
            assert read(acct, pos, floor, now).cover is not Cover.UNPROTECTED

    asyncio.run(go())


def test_a_reductions_sell_refused_for_lack_of_free_coins_is_resized_too() -> None:
    """A reduction sells half the position; fewer coins are free than the books think once
    the pair is off them, and the sale is sized to those."""

    async def go() -> None:
        async with chaos(HOLD) as rig:
            floor = rig.ven.instrument(SYMBOL).floor_qty
            held = await _position(rig)
            half = floor(held / 2)
            gone = half - floor(half * 3 / 4)
            _taken_outside_the_books(rig, gone)
            # The pair, amended to the whole lots of the rest, keeps those locked: what is free
            # to sell is the rest of the account's coins.
            free = floor(held - gone - floor(held - half))
            assert Decimal(0) < free < half
            acct = rig.eng.accounts["a1"]
            await reduce_position(rig.eng.executor, acct, SYMBOL, half, "the agent takes half")
            await rig.sim.idle()
            await rig.step()
            exits = _exits(rig)
            assert len(exits) >= 2, f"the refused sell is sent again: {exits}"
            refused, resized = exits[:2]
            assert refused[0] is OrderStatus.REJECTED and refused[1] == half
            assert resized == (OrderStatus.FILLED, free, free), "sized to the free coins"

    asyncio.run(go())


def test_a_reduction_leaving_part_of_a_lot_amends_the_pair_to_whole_lots() -> None:
    """The rest a reduction leaves need not be whole lots (a sell sized to lots off a position
    that is not): the pair is amended in place to the whole lots of it, which the exchange
    takes, rather than refused (LOT_SIZE) and canceled, the coins bare until it is placed
    again."""

    async def go() -> None:
        async with chaos(HOLD) as rig:
            floor = rig.ven.instrument(SYMBOL).floor_qty
            held = await _position(rig)
            acct = rig.eng.accounts["a1"]
            before = {
                o.client_id
                for o in acct.working(SYMBOL, (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT))
            }
            assert len(before) == 2
            part = floor(held / 2) + Decimal("0.000000001")  # not whole lots
            await reduce_position(rig.eng.executor, acct, SYMBOL, part, "the agent takes half")
            await rig.sim.idle()
            await rig.step()
            legs = acct.working(SYMBOL, (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT))
            assert {o.client_id for o in legs} == before, "amended in place, not canceled"
            listed = rig.sim_state()["open_orders"]
            assert {str(o["client_id"]) for o in listed} >= before, listed
            rest = floor(held - part)
            assert all(o.qty - o.filled_qty == rest for o in legs), (rest, legs)

    asyncio.run(go())
