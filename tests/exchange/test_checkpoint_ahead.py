"""A checkpoint whose order tracker is ahead of its books, restored: the real
ccxt client against the simulator, an entry filling in parts.

Found in a 20-minute fleet chaos run: a shard handed back at a worker's stop saved a tracker
that had seen more of an order's trades than its books had booked (the reports still queued).
The next holder restored both, its polls found nothing new (the tracker had seen it all), and
its reconciliation booked the coins missing as "sold outside Rampart": 6 exchange trades never
booked, one guessed sale in their place, on three accounts. Restored, the tracker is now wound
back to the books (what they filled, the trades they booked), so the next poll reports the
trades the books lack, each once.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from rampart.domain.events import FillBooked
from rampart.domain.orders import OrderRole
from rampart.venues.ccxt_venue import CcxtVenue

from .helpers import FAST, SYMBOL, rig
from .test_engine_sim import _books_agree, _engine, _enter_at, _step

SLOW = Decimal("0.0005")
"""The simulator's participation: an entry fills in parts over several candles."""


def test_a_checkpoint_taken_with_fills_still_queued_books_them_after_a_takeover() -> None:
    async def go() -> None:
        async with rig(participation=SLOW) as r:
            engine, _ = await _engine(r, _enter_at(0))
            await _step(r, engine)
            acct = engine.accounts["a1"]
            entry = next(c for c, o in acct.orders.items() if o.role is OrderRole.ENTRY)
            # More of the entry trades; the venue hears it and queues the reports, but the
            # checkpoint is taken before the engine applies them (a hand-back between them).
            for _ in range(20):
                await r.advance(1)
                await r.venue.poll()
                tracked = {t.client_id: t for t in r.venue.tracked()}
                if entry in tracked and tracked[entry].filled > acct.orders[entry].filled_qty:
                    break
            ahead = {t.client_id: t.filled for t in r.venue.tracked()}
            assert ahead[entry] > acct.orders[entry].filled_qty  # the hazard, set up
            assert engine.executor.pending()
            saved = engine.snapshot()
            venue = CcxtVenue(r.venue.clients, clock=r.clock, policy=FAST, rng=random.Random(2))
            await venue.load([SYMBOL])
            r.venue = venue
            heir, events = await _engine(r, _enter_at())
            heir.load_snapshot(saved)
            for _ in range(3):
                await _step(r, heir)
            _books_agree(r, heir)
            booked = [e.fill.fill_id for e in events if isinstance(e, FillBooked)]
            assert len(booked) == len(set(booked))  # each trade once

    asyncio.run(go())
