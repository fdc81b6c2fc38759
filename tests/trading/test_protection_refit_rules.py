"""A pair refused by one of the market's filters (Binance's "Filter failure: LOT_SIZE" and the
like) is re-sized at once to the rules read again from the exchange: whole lots of the new
step, the stop rounded up to the new tick (it sells sooner, never later), the target down.
When the rules cannot be read, did not change, or leave the position too small for any pair,
nothing more is sent and the monitor holds the stop. A refusal for funds whose balance cannot
be read, or that frees nothing, or only dust, leaves the monitor alone too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import ROUND_CEILING, Decimal

from rampart.domain.errors import VenueError
from rampart.domain.fills import Balance
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderRole
from rampart.trading.engine import Engine
from rampart.trading.protection_state import Cover, read
from rampart.trading.refit import _on_tick
from tests.log_lines import every_log_line

from .held import HeldVenue, held
from .helpers import INSTRUMENT, SYMBOL

D = Decimal


class RulesChange(HeldVenue):
    """The exchange's rules became ``after``: a pair that breaks them is refused as a filter
    failure; ``reload_rules`` reads them (or fails with ``unreadable``)."""

    def __init__(self, after: Instrument, unreadable: bool = False) -> None:
        super().__init__()
        self.after = after
        self.unreadable = unreadable
        self.reads = 0
        self.prices: list[tuple[Decimal, Decimal]] = []

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        rules = self.after
        lots = (stop_loss.qty / rules.lot_size) % 1 == 0
        ticks = all(
            p is not None and (p / rules.tick_size) % 1 == 0
            for p in (stop_loss.stop_price, take_profit.price)
        )
        if not (lots and ticks) or stop_loss.qty * (stop_loss.stop_price or 0) < rules.min_notional:
            self.pairs.append((stop_loss.qty, take_profit.qty))
            raise VenueError("binance refused the order: Filter failure: LOT_SIZE", code="filter")
        self.prices.append((stop_loss.stop_price or D(0), take_profit.price or D(0)))
        await super().submit_oco(stop_loss, take_profit)

    async def reload_rules(self, symbol: str) -> Instrument:
        self.reads += 1
        if self.unreadable:
            raise VenueError("the exchange did not answer", code="network")
        self._instrument = self.after
        return self.after


def _cover(engine: Engine) -> Cover:
    acct = engine.accounts["a1"]
    floor = engine.venue.instrument(SYMBOL).floor_qty
    return read(acct, acct.ledger.positions[SYMBOL], floor, engine.clock.now_ms()).cover


def _stops(engine: Engine) -> list[Decimal]:
    acct = engine.accounts["a1"]
    return [o.remaining for o in acct.working(SYMBOL, (OrderRole.STOP_LOSS,))]


def test_a_coarser_lot_and_tick_are_read_again_and_the_pair_placed_at_once_in_them() -> None:
    venue = RulesChange(replace(INSTRUMENT, lot_size=D(4), min_qty=D(4), tick_size=D(3)))
    engine, _ = asyncio.run(held("10", venue))
    assert venue.reads == 1
    assert venue.pairs == [(D(10), D(10)), (D(8), D(8))]  # the refused one, then whole lots
    # The stop 98 rounds up to 99 on the new tick; the target 105 stays (a multiple of 3).
    assert venue.prices == [(D(99), D(105))]
    assert _stops(engine) == [D(8)]
    # Every coin the new lot lets the exchange sell rests under the stop.
    assert _cover(engine) is Cover.EXCHANGE


def test_the_target_rounds_down_to_the_new_tick() -> None:
    venue = RulesChange(replace(INSTRUMENT, lot_size=D(5), min_qty=D(5), tick_size=D(4)))
    asyncio.run(held("10", venue))
    # 98 up to 100 and 105 down to 104: inside the pair's levels, never outside.
    assert venue.prices == [(D(100), D(104))]


def test_rules_that_did_not_change_unreadable_rules_or_no_rules_port_send_nothing_more() -> None:
    same = RulesChange(INSTRUMENT)
    same.after = replace(INSTRUMENT, lot_size=D(4))  # refuses by this lot...
    same.reload_rules = _answers(INSTRUMENT)  # type: ignore[method-assign,assignment]
    engine, _ = asyncio.run(held("10", same))  # ...but reads the rules it already had
    assert same.pairs == [(D(10), D(10))] and _stops(engine) == []
    assert _cover(engine) is Cover.MONITOR
    unread = RulesChange(replace(INSTRUMENT, lot_size=D(4)), unreadable=True)
    engine, _ = asyncio.run(held("10", unread))
    assert (unread.reads, unread.pairs, _stops(engine)) == (1, [(D(10), D(10))], [])


def _answers(inst: Instrument) -> Callable[[str], Awaitable[Instrument]]:
    async def reload_rules(symbol: str) -> Instrument:
        return inst

    return reload_rules


def test_rules_that_leave_no_pair_possible_leave_the_monitor_alone() -> None:
    cases = {
        "a minimum quantity above the whole lots": replace(
            INSTRUMENT, lot_size=D(4), min_qty=D(12), tick_size=D(3)
        ),
        "a minimum value above the position": replace(
            INSTRUMENT, lot_size=D(4), min_qty=D(4), min_notional=D(10**6)
        ),
        "a tick that puts the stop on the target": replace(
            INSTRUMENT, lot_size=D(4), min_qty=D(4), tick_size=D(100)
        ),
    }
    for case, rules in cases.items():
        venue = RulesChange(rules)
        engine, _ = asyncio.run(held("10", venue))
        assert venue.reads == 1, case
        assert venue.pairs == [(D(10), D(10))], case  # nothing sent after the refusal
        assert _stops(engine) == [] and _cover(engine) is Cover.MONITOR, case


class FundsUnclear(HeldVenue):
    """Refuses every pair for funds; its balance answers ``free`` coins, or fails."""

    def __init__(self, free: Decimal | None, fails: bool = False) -> None:
        super().__init__()
        self.free = free
        self.fails = fails
        self.refuse_above: Decimal | None = None
        """Accept a pair up to this many coins (None: refuse every pair)."""

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        if self.refuse_above is not None and stop_loss.qty <= self.refuse_above:
            await super().submit_oco(stop_loss, take_profit)
            return
        self.pairs.append((stop_loss.qty, take_profit.qty))
        raise VenueError(
            "binance refused the order: insufficient balance", code="insufficient_funds"
        )

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        if self.fails:
            raise VenueError("the exchange did not answer", code="network")
        return {} if self.free is None else {"BTC": Balance("BTC", self.free, D(0))}


def test_a_funds_refusal_whose_balance_says_nothing_better_sends_nothing_more() -> None:
    for venue in (
        FundsUnclear(None, fails=True),  # the balance cannot be read
        FundsUnclear(None),  # the exchange lists no coin of it
        FundsUnclear(D(10)),  # every coin is free: re-sizing changes nothing
        FundsUnclear(D(25)),  # more than the pair: the same
        FundsUnclear(D("0.00002")),  # only dust free: below any order
    ):
        engine, _ = asyncio.run(held("10", venue))
        assert venue.pairs == [(D(10), D(10))], venue.free
        assert _cover(engine) is Cover.MONITOR


def test_each_refit_is_logged_for_the_operator_with_what_was_asked_and_what_fits() -> None:
    venue = RulesChange(replace(INSTRUMENT, lot_size=D(4), min_qty=D(4), tick_size=D(3)))
    with every_log_line() as logs:
        asyncio.run(held("10", venue))
    (line,) = [e for e in logs if e["event"] == "bracket_refit"]
    assert line == {
        "event": "bracket_refit",
        "log_level": "warning",
        "symbol": SYMBOL,
        "asked": D(10),
        "fit": D(8),
        "rules": "read again",
    }
    funds = FundsUnclear(D(6))
    funds.refuse_above = D(6)
    with every_log_line() as logs:
        asyncio.run(held("10", funds))
    assert funds.pairs == [(D(10), D(10)), (D(6), D(6))]  # the pair for the 6 free coins taken
    (line,) = [e for e in logs if e["event"] == "bracket_refit"]
    assert line == {
        "event": "bracket_refit",
        "log_level": "warning",
        "account_id": "a1",
        "symbol": SYMBOL,
        "asked": D(10),
        "free": D(6),
    }


def test_what_could_not_be_read_or_fit_is_logged_with_its_cause() -> None:
    unread = RulesChange(replace(INSTRUMENT, lot_size=D(4)), unreadable=True)
    with every_log_line() as logs:
        asyncio.run(held("10", unread))
    (line,) = [e for e in logs if e["event"] == "market_rules_unread"]
    assert (line["log_level"], line["symbol"], str(line["why"])) == (
        "info", SYMBOL, "the exchange did not answer"
    )  # fmt: skip
    small = RulesChange(replace(INSTRUMENT, lot_size=D(4), min_qty=D(4), min_notional=D(10**6)))
    with every_log_line() as logs:
        asyncio.run(held("10", small))
    (line,) = [e for e in logs if e["event"] == "bracket_below_filters"]
    assert line == {
        "event": "bracket_below_filters",
        "log_level": "warning",
        "symbol": SYMBOL,
        "qty": D(10),
        "min": D(10**6),
    }
    with every_log_line() as logs:
        asyncio.run(held("10", FundsUnclear(None, fails=True)))
    (line,) = [e for e in logs if e["event"] == "free_balance_unread"]
    assert (line["log_level"], line["account_id"], str(line["why"])) == (
        "info", "a1", "the exchange did not answer"
    )  # fmt: skip


def test_a_pair_exactly_at_the_new_minimums_is_placed() -> None:
    # 8 coins at the stop 99: exactly the minimum quantity and exactly the minimum value.
    rules = replace(INSTRUMENT, lot_size=D(4), min_qty=D(8), tick_size=D(3), min_notional=D(792))
    venue = RulesChange(rules)
    asyncio.run(held("10", venue))
    assert venue.pairs[-1] == (D(8), D(8)) and venue.prices == [(D(99), D(105))]


def test_the_target_is_floored_not_rounded_to_the_nearest_tick() -> None:
    # 105 / 2.8 = 37.5 ticks: the nearest (to even) is 38 (106.4), above the asked target.
    venue = RulesChange(replace(INSTRUMENT, lot_size=D(4), min_qty=D(4), tick_size=D("2.8")))
    asyncio.run(held("10", venue))
    assert venue.prices == [(D("98.0"), D("103.6"))]


def test_a_market_with_no_tick_keeps_the_price_asked() -> None:
    assert _on_tick(D("98.123"), D(0), ROUND_CEILING) == D("98.123")
