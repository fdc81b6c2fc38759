"""Property: on a venue that amends, the pair follows every fill of an entry, so a
trade whose price path crosses the stop or the target realises the same PnL as protecting each
fill at once would, on the same prices; the pair never protects more than is held, every coin
held is under it after each fill (no window at all), and it is placed once (re-sized in place,
no new order)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.orders import OrderRole, OrderStatus
from rampart.trading.ports import Amend
from rampart.trading.protection import PROTECTIVE

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal


class AmendingVenue(HeldVenue):
    """The held venue, re-sizing a resting pair in place when asked."""

    capabilities = replace(HeldVenue.capabilities, amend=Amend.BOTH)

    def __init__(self) -> None:
        super().__init__()
        self.amends = 0

    async def amend_oco(
        self, account_id: str, stop_id: str, take_id: str, remaining: Decimal
    ) -> None:
        assert account_id == "a1"
        self.amends += 1
        for leg in (self.open[stop_id], self.open[take_id]):
            leg.qty = leg.filled_qty + remaining

    def cross(self, role: OrderRole) -> None:
        """The candle's price crosses the leg of ``role``: it sells all it has left at its
        price, the other leg is canceled (one cancels the other)."""
        legs = {o.role: c for c, o in self.open.items() if o.role in PROTECTIVE}
        hit = self.open[legs[role]]
        self.price = hit.stop_price if role is OrderRole.STOP_LOSS else hit.price  # type: ignore[assignment]
        self.fill(legs[role], hit.remaining)
        other = OrderRole.TAKE_PROFIT if role is OrderRole.STOP_LOSS else OrderRole.STOP_LOSS
        self.finish(legs[other], OrderStatus.CANCELED)


async def _run(parts: list[int], cross_at: int, down: bool) -> tuple[list[str], AmendingVenue]:
    problems: list[str] = []
    venue = AmendingVenue()
    engine, _ = await held(str(parts[0]), venue)
    acct = engine.accounts["a1"]
    (entry,) = venue.entries()
    clock = engine.executor.clock
    legs = {o.role: o for o in acct.working(SYMBOL, PROTECTIVE)}
    stop, target = legs[OrderRole.STOP_LOSS].stop_price, legs[OrderRole.TAKE_PROFIT].price
    assert stop is not None and target is not None
    bought, cost = D(parts[0]), D(parts[0]) * venue.price
    for minute, part in enumerate(parts[1:], start=1):
        if minute == cross_at or entry not in venue.open:
            break
        clock.set(minute * 60_000)
        moved = min(D(part), venue.open[entry].remaining)
        venue.fill(entry, D(part))
        bought, cost = bought + moved, cost + moved * venue.price
        await engine.executor.drain()
        pos = acct.ledger.positions[SYMBOL]
        for order in acct.working(SYMBOL, PROTECTIVE):
            if order.remaining != pos.qty:
                problems.append(f"{order.client_id} protects {order.remaining} of {pos.qty} held")
    # The price path: the next candle crosses the stop (down) or the target; the entry, if
    # still buying, is canceled on the same candle.
    clock.set((cross_at + 1) * 60_000)
    if entry in venue.open:
        venue.finish(entry, OrderStatus.CANCELED)
    venue.cross(OrderRole.STOP_LOSS if down else OrderRole.TAKE_PROFIT)
    await engine.executor.drain()
    # Protecting each fill at once: every coin bought is sold at the level the path crossed.
    expected = bought * (stop if down else target) - cost
    if SYMBOL in acct.ledger.positions:
        problems.append(f"{acct.ledger.positions[SYMBOL].qty} still held after the level")
    if acct.ledger.realized_pnl != expected:
        problems.append(f"realised {acct.ledger.realized_pnl}, each fill protected: {expected}")
    return problems, venue


@settings(max_examples=40, deadline=None)
@given(
    parts=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12),
    cross_at=st.integers(min_value=1, max_value=13),
    down=st.booleans(),
)
def test_amended_pair_realises_what_protecting_each_fill_would(
    parts: list[int], cross_at: int, down: bool
) -> None:
    problems, venue = asyncio.run(_run(parts, cross_at, down))
    assert problems == []
    assert len(venue.pairs) == 1  # placed once; every later fill amended it in place
