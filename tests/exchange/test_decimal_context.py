"""ccxt's ``decimal_to_precision`` sets ROUND_HALF_UP and an Underflow trap on the current decimal
context and leaves them there. Through the venue, Rampart's own context must come out unchanged:
the books round the same way on an exchange as on paper and in a replay (the replay golden test
saw the last digit of an average fill price move after ccxt had run in the same process)."""

from __future__ import annotations

import asyncio
import decimal
from decimal import Decimal

from rampart.domain.orders import OrderRole, OrderType, Side

from .helpers import Rig, rig

D = Decimal


def _shape() -> tuple[int, str, bool]:
    ctx = decimal.getcontext()
    return ctx.prec, ctx.rounding, bool(ctx.traps[decimal.Underflow])


async def _entry_and_bracket(r: Rig) -> None:
    entry = r.order(qty="0.01")
    await r.venue.submit(entry)
    price = r.price()
    stop = r.order(
        side=Side.SELL,
        kind=OrderType.STOP_MARKET,
        qty="0.00999",
        stop=(price * D("0.9")).quantize(D("0.01")),
        role=OrderRole.STOP_LOSS,
    )
    take = r.order(
        side=Side.SELL,
        kind=OrderType.LIMIT,
        qty="0.00999",
        price=(price * D("1.1")).quantize(D("0.01")),
        role=OrderRole.TAKE_PROFIT,
    )
    stop.oco_group = take.oco_group = stop.client_id
    await r.venue.submit_oco(stop, take)
    await r.venue.poll()


def test_orders_and_brackets_through_ccxt_leave_the_decimal_context_as_it_was() -> None:
    async def go() -> tuple[int, str, bool]:
        async with rig() as r:
            await _entry_and_bracket(r)
            return _shape()

    with decimal.localcontext(decimal.Context()):
        before = _shape()
        after = asyncio.run(go())
    assert before == (28, decimal.ROUND_HALF_EVEN, False)
    assert after == before


def test_ccxt_alone_does_change_it() -> None:
    """The premise: without the venue's guard, ccxt's rounding leaves HALF_UP behind."""
    from ccxt.base.decimal_to_precision import ROUND, TICK_SIZE, decimal_to_precision

    with decimal.localcontext(decimal.Context()):
        decimal_to_precision("1.005", ROUND, D("0.01"), TICK_SIZE)
        assert _shape()[1:] == (decimal.ROUND_HALF_UP, True)
