"""What protects a held position, read from the real orders: a resting stop ("protected by the
exchange"), the monitor with the venue's own words when the stop was refused, "UNPROTECTED
(since ...)" when neither, each change told once on the bus (the PositionUnprotected alert's
source) and resolved when a stop rests again or the position is gone.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.events import ProtectionChanged
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.trading.engine import Engine
from rampart.trading.invariants import after_event
from rampart.trading.ports import VenueReport
from rampart.trading.protection_state import FLAT, Cover, Protection, read

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal
SAID = "Account has insufficient balance for requested action."


class RefusingStops(HeldVenue):
    """Refuses every pair while ``refuse`` is set, as Binance answers -2010."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = False

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        if self.refuse:
            raise VenueError(f"binance refused the order: {SAID}", code="insufficient_funds")
        await super().submit_oco(stop_loss, take_profit)


def _now(engine: Engine) -> Protection:
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    floor = engine.venue.instrument(SYMBOL).floor_qty
    return read(acct, pos, floor, engine.clock.now_ms())


def _check(engine: Engine) -> None:
    after_event(engine, engine.accounts["a1"], engine.clock.now_ms())


def test_a_resting_stop_is_protection_by_the_exchange_at_its_price() -> None:
    engine, _ = asyncio.run(held("10"))
    seen = _now(engine)
    assert (seen.cover, seen.resting_stop, seen.since) == (Cover.EXCHANGE, D(98), None)
    assert seen.text == "protected by the exchange"


def test_a_refused_stop_is_the_monitors_naming_the_exchanges_words_until_one_rests() -> None:
    async def scenario() -> tuple[Engine, list[Protection], list[ProtectionChanged]]:
        venue = RefusingStops()
        venue.refuse = True
        engine, _ = await held("10", venue)
        clock = engine.clock
        assert isinstance(clock, SimClock)
        events: list[ProtectionChanged] = []
        engine.bus.subscribe(lambda e: events.append(e) if isinstance(e, ProtectionChanged) else 0)
        refused_at = clock.now_ms()
        _check(engine)
        first = _now(engine)
        clock.set(refused_at + 7_000)
        _check(engine)  # still refused: told once, since unchanged
        later = _now(engine)
        venue.refuse = False
        engine.accounts["a1"].bracket_book.of(SYMBOL).refusal = None  # its wait is over
        await engine.executor.ensure_protection(engine.accounts["a1"], SYMBOL)
        await engine.executor.drain()
        _check(engine)
        return engine, [first, later, _now(engine)], events

    engine, (first, later, rested), events = asyncio.run(scenario())
    assert first.cover is Cover.MONITOR and first.reason == "insufficient_funds"
    assert SAID.rstrip(".") in first.why and first.resting_stop is None
    assert first.text.startswith("protected by Rampart's monitor (the exchange refused the stop")
    assert later.since == first.since == 0
    assert rested.cover is Cover.EXCHANGE
    assert [(e.cover, e.reason, e.since) for e in events] == [
        ("monitor", "insufficient_funds", 0),
        ("exchange", "", None),
    ]


def test_a_stop_gone_with_no_monitor_is_unprotected_since_it_was_first_seen_so() -> None:
    async def scenario() -> tuple[Protection, Protection, list[ProtectionChanged]]:
        engine, venue = await held("10")
        clock = engine.clock
        assert isinstance(clock, SimClock)
        events: list[ProtectionChanged] = []
        engine.bus.subscribe(lambda e: events.append(e) if isinstance(e, ProtectionChanged) else 0)
        acct = engine.accounts["a1"]
        # The stop vanishes from the books while reconciliation holds protection back.
        engine.executor.hold_protection.add("a1")
        for o in acct.working(SYMBOL, (OrderRole.STOP_LOSS,)):
            del acct.orders[o.client_id]
        clock.set(120_000)
        _check(engine)
        clock.set(180_000)
        _check(engine)
        return _now(engine), _now(engine), events

    seen, _, events = asyncio.run(scenario())
    assert seen.cover is Cover.UNPROTECTED and seen.since == 120_000
    assert seen.text == "UNPROTECTED (since 1970-01-01 00:02:00 UTC)"
    assert [(e.cover, e.reason, e.since) for e in events] == [("unprotected", "none", 120_000)]


def test_a_position_gone_is_told_flat_once() -> None:
    async def scenario() -> list[ProtectionChanged]:
        engine, _ = await held("10")
        events: list[ProtectionChanged] = []
        engine.bus.subscribe(lambda e: events.append(e) if isinstance(e, ProtectionChanged) else 0)
        _check(engine)
        await engine.executor.exit_position(engine.accounts["a1"], SYMBOL, "by hand")
        await engine.executor.drain()
        _check(engine)
        _check(engine)
        return events

    events = asyncio.run(scenario())
    assert [e.cover for e in events] == ["exchange", FLAT]


def test_a_pair_rejected_after_it_was_taken_names_the_reports_code_and_reason() -> None:
    """A venue that checks after accepting (the paper venue's matching) reports the legs
    REJECTED with a code and the reason: the monitor's cover names both."""

    async def scenario() -> Protection:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        for client_id in [c for c, o in venue.open.items() if o.role.protective]:
            venue.open.pop(client_id)
            venue._listener(
                VenueReport(
                    "a1",
                    client_id,
                    OrderStatus.REJECTED,
                    venue.now,
                    None,
                    code="filter",
                    reason="Filter failure: MIN_NOTIONAL",
                )
            )
        await engine.executor.drain()
        return _now(engine)

    seen = asyncio.run(scenario())
    assert (seen.cover, seen.reason) == (Cover.MONITOR, "filter")
    assert seen.why == "the exchange refused the stop: Filter failure: MIN_NOTIONAL"
