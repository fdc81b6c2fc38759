"""Property: over random fill sequences of one entry, the pair never protects more
than is held, every filled coin is under the pair or the position monitor after each drain,
and the pair is placed once and re-sized at most 3 times per entry (the fake venue cannot
amend: each re-size is a cancel and a new pair)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.orders import OrderStatus
from rampart.trading.protection import MAX_RESIZES, PROTECTIVE

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal


async def _run(parts: list[int], end_early: bool) -> tuple[list[str], int]:
    problems: list[str] = []
    engine, venue = await held(str(parts[0]))
    acct = engine.accounts["a1"]
    (entry,) = venue.entries()
    clock = engine.executor.clock
    for minute, part in enumerate(parts[1:], start=1):
        if entry not in venue.open:
            break
        clock.set(minute * 60_000)  # a part a candle (tries of a pair are counted per instant)
        venue.fill(entry, D(part))
        await engine.executor.drain()
        _check(engine, venue, acct, problems)
    if end_early and entry in venue.open:
        clock.set(len(parts) * 60_000)
        venue.finish(entry, OrderStatus.CANCELED)
        await engine.executor.drain()
        _check(engine, venue, acct, problems)
    if entry not in venue.open:  # the entry ended: the pair covers all of it
        pos = acct.ledger.positions[SYMBOL]
        legs = acct.working(SYMBOL, PROTECTIVE)
        if sorted(o.remaining for o in legs) != [pos.qty, pos.qty]:
            problems.append(f"after the entry ended the pair is {legs}, {pos.qty} held")
    return problems, len(venue.pairs)


def _check(engine, venue: HeldVenue, acct, problems: list[str]) -> None:  # type: ignore[no-untyped-def]
    pos = acct.ledger.positions[SYMBOL]
    for order in acct.working(SYMBOL, PROTECTIVE):
        if order.remaining > pos.qty:
            problems.append(f"{order.client_id} protects {order.remaining} of {pos.qty} held")
    if not engine.executor.is_protected(acct, pos):
        problems.append(f"{pos.qty} held without a stop")


@settings(max_examples=40, deadline=None)
@given(
    parts=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12),
    end_early=st.booleans(),
)
def test_a_bracket_follows_an_entry_filling_in_parts(parts: list[int], end_early: bool) -> None:
    problems, pairs = asyncio.run(_run(parts, end_early))
    assert problems == []
    assert pairs <= 1 + MAX_RESIZES
