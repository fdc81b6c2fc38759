"""Property: after any sequence of entry fills, stop refusals (for lack of funds, by a filter,
on a halted market), free coins taken away and candles, every held position reads "protected
by the exchange" (stops resting for every coin that can be sold) or "protected by Rampart's
monitor" (the position monitor holds it), never UNPROTECTED; and what it reads agrees with the
orders: the exchange's cover only with a stop resting for all of it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.errors import VenueError
from rampart.domain.fills import Balance
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.trading.invariants import after_event
from rampart.trading.protection_state import Cover, read

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal
CODES = ("insufficient_funds", "filter", "halted", "refused")


class Moody(HeldVenue):
    """Refuses pairs with ``code`` while set; holds ``free`` coins free (None: all)."""

    def __init__(self) -> None:
        super().__init__()
        self.code: str | None = None
        self.free: Decimal | None = None

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        short = self.free is not None and stop_loss.qty > self.free
        if self.code is not None or short:
            raise VenueError("refused", code=self.code or "insufficient_funds")
        await super().submit_oco(stop_loss, take_profit)

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        free = D(1000) if self.free is None else self.free
        return {"BTC": Balance("BTC", free, D(0))}


STEP = st.one_of(
    st.tuples(st.just("fill"), st.integers(min_value=1, max_value=5)),
    st.tuples(st.just("refuse"), st.sampled_from((None, *CODES))),
    st.tuples(st.just("free"), st.one_of(st.none(), st.integers(min_value=0, max_value=20))),
    st.tuples(st.just("candle"), st.just(0)),
    st.tuples(st.just("end"), st.just(0)),
)


async def _run(steps: list[tuple[str, object]]) -> list[str]:
    venue = Moody()
    engine, _ = await held("3", venue)
    acct = engine.accounts["a1"]
    (entry,) = venue.entries()
    clock = engine.executor.clock
    problems: list[str] = []
    for i, (kind, arg) in enumerate(steps, start=1):
        clock.set(i * 60_000)
        if kind == "fill" and entry in venue.open:
            venue.fill(entry, D(arg))  # type: ignore[arg-type]
        elif kind == "refuse":
            venue.code = arg  # type: ignore[assignment]
        elif kind == "free":
            venue.free = None if arg is None else D(arg)  # type: ignore[arg-type]
        elif kind == "end" and entry in venue.open:
            venue.finish(entry, OrderStatus.CANCELED)
        elif kind == "candle":
            # A candle's guard: a refused bracket is retried when its wait is over.
            for symbol in list(acct.guarded):
                if engine.executor.protection_due(acct, symbol):
                    await engine.executor.ensure_protection(acct, symbol)
        await engine.executor.drain()
        after_event(engine, acct, clock.now_ms())
        pos = acct.ledger.positions.get(SYMBOL)
        if pos is None:
            continue
        floor = venue.instrument(SYMBOL).floor_qty
        seen = read(acct, pos, floor, clock.now_ms())
        stops = sum((o.remaining for o in acct.working(SYMBOL, (OrderRole.STOP_LOSS,))), D(0))
        if seen.cover is Cover.UNPROTECTED:
            problems.append(f"step {i} {kind}: {pos.qty} held UNPROTECTED")
        if seen.cover is Cover.EXCHANGE and stops < floor(pos.qty):
            problems.append(f"step {i}: the exchange's cover with stops for {stops} of {pos.qty}")
        if seen.cover is Cover.MONITOR and SYMBOL not in acct.guarded:
            problems.append(f"step {i}: the monitor's cover but the monitor does not hold it")
    return problems


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=14))
def test_every_held_coin_is_under_a_resting_stop_or_the_monitor(
    steps: list[tuple[str, object]],
) -> None:
    assert asyncio.run(_run(steps)) == []
