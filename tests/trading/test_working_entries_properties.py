"""Slow entries and candles in any order: a symbol's exposure never exceeds one position.

Entries are submitted on candles and then, in any order with later candles, partly filled,
filled, canceled by the venue or expired; the agent asks for an entry or a close on any
candle, and an exit cancels the working entries first (a cancel the venue confirms only
later, while the entry may still fill). At every point the filled position plus the
unfilled remainder of every working entry on the symbol stays within the profile's largest
position, and the position and the working entries all belong to one entry.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, OrderStatus, Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle, long_intent
from .slow_venue import SlowVenue

PRICE = Decimal("100")
LARGEST = Decimal("20")
"""The moderate profile's largest position on 10,000 USDT at 100 (20 %); fills are at 100
with no fee, so the equity, and with it this limit, never moves."""

candle_step = st.tuples(st.just("candle"), st.sampled_from(["entry", "entry", "close", "none"]))
venue_step = st.tuples(
    st.sampled_from(["fill", "fill", "cancel", "expire"]),
    st.integers(0, 3),
    st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("1")]),
)
steps = st.lists(st.one_of(candle_step, venue_step), min_size=1, max_size=25)


def assert_one_position_within_limit(engine: Engine, venue: SlowVenue) -> None:
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions.get(SYMBOL)
    working = [o for o in acct.orders.values() if o.role is OrderRole.ENTRY]
    held = pos.qty if pos else Decimal(0)
    remainder = sum((o.remaining for o in working), Decimal(0))
    assert held + remainder <= LARGEST, (held, [(o.qty, o.filled_qty) for o in working])
    owners = {o.client_id for o in working} | ({pos.entry_client_id} if pos else set())
    assert len(owners) <= 1, owners
    # The books and the venue agree on what is still working.
    assert {o.client_id for o in working} == set(venue.entries())


async def run(path: list[tuple]) -> None:
    clock = SimClock(0)
    venue = SlowVenue(INSTRUMENT, PRICE)
    asks: list[str] = []

    def script(i: int, view) -> list[Intent]:
        ask = asks.pop() if asks else "none"
        if ask == "entry":
            return [long_intent(view, "0.98", "1.05")]
        if ask == "close":
            return [Intent(view.account_id, SYMBOL, Side.SELL, IntentAction.CLOSE, PRICE)]
        return []

    engine = Engine(
        venue=venue,
        clock=clock,
        bus=EventBus(),
        make_agent=lambda name, params: ScriptedAgent(script),  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=Decimal("0.001"),
    )
    await engine.add_account(AccountSpec("a1", "scripted", "moderate", Decimal(10_000), (SYMBOL,)))
    bar = 0
    for step in path:
        if step[0] == "candle":
            bar += 1
            asks.append(step[1])
            clock.set(bar * 60_000)
            venue.now = clock.now_ms()
            await engine.on_candle(candle(bar, 100, 100, 100, 100))
        else:
            kind, pick, fraction = step
            entries = venue.entries()
            if not entries:
                continue
            client_id = entries[pick % len(entries)]
            if kind == "fill":
                venue.fill(client_id, venue.open[client_id].qty * fraction)
            else:
                venue.finish(
                    client_id, OrderStatus.CANCELED if kind == "cancel" else OrderStatus.EXPIRED
                )
            await engine.executor.drain()
        assert_one_position_within_limit(engine, venue)
    assert engine.violations == 0


@settings(max_examples=200, deadline=None)
@given(path=steps)
def test_slow_entries_never_add_up_past_one_position(path: list[tuple]) -> None:
    asyncio.run(run(path))


def test_an_entry_whose_cancel_is_unconfirmed_still_counts_after_its_position_is_sold() -> None:
    # Bought 5 of 20, sold at the agent's close while the entry's cancel is on its way: the
    # entry may still buy 15, so the next candle's entry must wait for it.
    asyncio.run(
        run(
            [
                ("candle", "entry"),
                ("fill", 0, Decimal("0.25")),
                ("candle", "close"),
                ("candle", "entry"),
                ("fill", 0, Decimal("1")),
                ("candle", "entry"),
                ("candle", "none"),
            ]
        )
    )
