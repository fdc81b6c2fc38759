"""The request budget's lanes: market data, protective orders, reconciliation reads
and entries each spend a reserved share of the address's limit, then a spare pool.

- for any interleaving of requests from several processes and lanes, the address's total
  never passes the limit and a lane asking within its reservation is always let through;
- entries that spend their lane and the spare pool, on PostgreSQL, leave a stop-loss and a
  candle poll going at once;
- a takeover's reconciliation burst spends its lane and the spare pool, and market data,
  protective orders and entries still go at once.
- every venue and feed call is paid from its lane (classified where the call is made).

"At once" is on the simulated clock: the request was sent without the clock moving (nothing
waited for the next window) and was not skipped.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.orders import OrderRole, OrderType, Side
from rampart.market.ccxt_feed import CcxtFeed
from rampart.store.db import open_database
from rampart.store.request_budget import SqlLedger
from rampart.venues.budget_chunks import ChunkedLedger
from rampart.venues.budget_lanes import ROWS
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.request_budget import (
    BudgetPolicy,
    Lane,
    Ledger,
    MemoryLedger,
    RequestBudget,
    SharedLedger,
    Window,
)
from tests.budget.test_address import ONCE, START, Address, _order, address

MINUTE = 60_000
LIMIT = 400.0
SMALL = 100.0
"""The property's limit: a few dozen requests fill a window."""
LANES = list(Lane)


def lane_budget(
    ledger: Ledger, policy: BudgetPolicy, clock: SimClock, limit: float = LIMIT
) -> RequestBudget:
    return RequestBudget(
        "binance",
        "10.0.0.1",
        clock,
        ledger=ledger,
        windows=[Window("REQUEST_WEIGHT", MINUTE, limit)],
        policy=policy,
    )


def shares() -> st.SearchStrategy[BudgetPolicy]:
    """Any reservations that leave each lane (with the spare pool) room for a request."""
    share = st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.3])

    def policy(values: tuple[float, ...]) -> BudgetPolicy:
        return BudgetPolicy(*values)

    return (
        st.tuples(share, share, share, share)
        .filter(lambda v: sum(v) <= 1.0 and all(x + 1.0 - sum(v) >= 0.05 for x in v))
        .map(policy)
    )


@settings(max_examples=150, deadline=None)
@given(
    policy=shares(),
    processes=st.integers(min_value=1, max_value=4),
    chunked=st.booleans(),
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3),  # which process
            st.sampled_from(LANES),
            st.sampled_from([1.0, 2.0, 5.0]),  # weight; at most a lane's room (5)
            st.integers(min_value=0, max_value=80),  # 0: the window turns first
        ),
        min_size=40,
        max_size=200,
    ),
)
def test_no_interleaving_passes_the_limit_or_takes_a_lane_s_reservation(
    policy: BudgetPolicy,
    processes: int,
    chunked: bool,
    steps: list[tuple[int, Lane, float, int]],
) -> None:
    clock = SimClock(START)
    shared = MemoryLedger()  # the database's rows: each step of it is atomic
    share = 0.05
    budgets = [
        lane_budget(ChunkedLedger(shared, share) if chunked else shared, policy, clock, SMALL)
        for _ in range(processes)
    ]
    window = budgets[0].windows[0]
    granted: dict[Lane, float] = dict.fromkeys(LANES, 0.0)
    for who, lane, cost, turn in steps:
        if turn == 0:
            clock.advance(MINUTE)
            granted = dict.fromkeys(LANES, 0.0)
        start = window.start(clock.now_ms())
        ok = budgets[who % processes].try_spend(cost, lane) is None
        total = sum(shared.used_many([budgets[0]._key(window, r) for r in ROWS], start))
        assert total <= SMALL + 1e-6  # every process and lane together, never past the limit
        reserved = SMALL * policy.share(lane)
        if ok:
            granted[lane] += cost
            continue
        # Refused: the lane had had its reservation, less at most a block each process holds
        # unspent in the lane's row (blocks are claimed before they are used).
        slack = processes * share * reserved if chunked else 0.0
        assert granted[lane] + cost > reserved - slack - 1e-6, (lane, granted, policy)


ALL_SPARE = BudgetPolicy(market=0, protect=0, reconcile=0, entry=0)


def test_one_pool_without_lanes_lets_entries_take_a_stop_loss_s_room() -> None:
    """The property's control: with no reservation (the budget before lanes) entries spend
    what a stop-loss then finds missing."""
    b = lane_budget(MemoryLedger(), ALL_SPARE, SimClock(START))
    while b.try_spend(5, Lane.ENTRY) is None:
        pass
    assert b.try_spend(1, Lane.PROTECT) is not None
    lanes = lane_budget(MemoryLedger(), BudgetPolicy(), SimClock(START))
    while lanes.try_spend(5, Lane.ENTRY) is None:
        pass
    assert lanes.try_spend(1, Lane.PROTECT) is None


def feed_for(a: Address, budget: RequestBudget) -> CcxtFeed:
    return CcxtFeed(
        a.public,
        ["BTC/USDT"],
        clock=a.clock,
        policy=ONCE,
        budget=budget,
        since_ms=START - 2 * MINUTE,
    )


async def poll_at_once(a: Address, feed: CcxtFeed, budget: RequestBudget) -> None:
    """A candle poll is sent now: not skipped, not waited for."""
    before = budget.spent["market"]
    _, ok = await feed.poll_once()
    assert ok and feed.failures == 0
    assert budget.spent["market"] > before
    assert a.clock.now_ms() == START
    assert budget.held[("market", "refused")] == 0


async def entries_until_refused(a: Address, venue: CcxtVenue, first: int = 1) -> int:
    low = (a.sim.exchange.last_price("BTC/USDT") * Decimal("0.5")).quantize(Decimal("0.01"))
    sent = 0
    with pytest.raises(VenueError, match="no room in its entry lane"):
        for seq in range(first, first + 500):
            await venue.submit(
                _order(
                    "a0", seq, OrderRole.ENTRY, side=Side.BUY, type=OrderType.LIMIT,
                    qty=Decimal("0.001"), price=low,
                )
            )  # fmt: skip
            sent += 1
    return sent


async def stop_loss_at_once(a: Address, venue: CcxtVenue, seq: int) -> None:
    orders = a.sim.state()["orders"]
    low = (a.sim.exchange.last_price("BTC/USDT") * Decimal("0.8")).quantize(Decimal("0.01"))
    await venue.submit(
        _order(
            "a0", seq, OrderRole.STOP_LOSS, side=Side.SELL, type=OrderType.STOP_MARKET,
            qty=Decimal("0.001"), stop_price=low,
        )
    )  # fmt: skip
    assert a.sim.state()["orders"] == orders + 1
    assert a.clock.now_ms() == START  # sent in this window: nothing waited


def test_entries_that_spent_their_lane_leave_a_stop_loss_and_a_candle_poll_at_once(
    pg_url: str,
) -> None:
    """On PostgreSQL, as workers share it: the rows in the store, spent in blocks."""

    async def main() -> None:
        open_database(pg_url).dispose()  # migrated
        engine = open_database(pg_url, migrate=False)
        try:
            async with address(1, limit=int(LIMIT), USDT="100000", BTC="1") as a:
                ledger = ChunkedLedger(SharedLedger(SqlLedger(engine)))
                budget = RequestBudget(
                    "binance", "127.0.0.1", a.clock, ledger=ledger,
                    policy=BudgetPolicy(entry_wait_s=0),
                )  # fmt: skip
                venue = CcxtVenue(
                    a.clients, clock=a.clock, public=a.public, policy=ONCE, budget=budget
                )
                await venue.load(["BTC/USDT"])
                sent = await entries_until_refused(a, venue)
                # Entries had their lane (15 %) and the whole spare pool (30 %).
                assert sent > 10
                assert budget.lane_used_ratio("spare") > 0.9
                await stop_loss_at_once(a, venue, 900)
                await poll_at_once(a, feed_for(a, budget), budget)
                assert a.sim.context.errors[429] == 0
        finally:
            engine.dispose()

    asyncio.run(main())


def test_a_reconciliation_burst_cannot_delay_market_data_or_the_other_lanes() -> None:
    """A takeover reconciles every account of the shard at once (balances: weight 20 each).
    It spends its lane and the spare pool and is held back past that; candles, a stop-loss and
    an entry still go in the same window."""

    async def main() -> None:
        async with address(30, limit=int(LIMIT), USDT="100000", BTC="1") as a:
            # Reads here are refused rather than waited for, so the window never turns and
            # every later request is measured in it (waiting reads go in the next windows).
            budget = RequestBudget(
                "binance", "127.0.0.1", a.clock, policy=BudgetPolicy(read_wait_s=0)
            )
            venue = CcxtVenue(a.clients, clock=a.clock, public=a.public, policy=ONCE, budget=budget)
            await venue.load(["BTC/USDT"])
            results = await asyncio.gather(
                *(venue.fetch_balances(account) for account in a.clients),
                return_exceptions=True,
            )
            answered = sum(1 for r in results if not isinstance(r, BaseException))
            # Its lane (100) and the spare pool (120): 11 of 30, the rest held back.
            assert answered == int(LIMIT * (0.25 + 0.30)) // 20
            assert budget.held[("reconcile", "refused")] == 30 - answered
            await poll_at_once(a, feed_for(a, budget), budget)
            await stop_loss_at_once(a, venue, 900)
            low = (a.sim.exchange.last_price("BTC/USDT") * Decimal("0.5")).quantize(Decimal("0.01"))
            await venue.submit(
                _order(
                    "a0", 1, OrderRole.ENTRY, side=Side.BUY, type=OrderType.LIMIT,
                    qty=Decimal("0.001"), price=low,
                )
            )  # fmt: skip
            assert a.clock.now_ms() == START
            assert budget.held[("entry", "refused")] == 0

    asyncio.run(main())


def test_every_call_is_paid_from_its_lane() -> None:
    """Each venue and feed call, against the simulator, spends from its own lane only."""

    async def main() -> None:
        async with address(1, limit=6000, USDT="100000", BTC="1") as a:
            budget = RequestBudget("binance", "127.0.0.1", a.clock)
            venue = CcxtVenue(a.clients, clock=a.clock, public=a.public, policy=ONCE, budget=budget)
            feed = feed_for(a, budget)
            price = a.sim.exchange.last_price("BTC/USDT")
            entry = _order(
                "a0", 1, OrderRole.ENTRY, side=Side.BUY, type=OrderType.LIMIT,
                qty=Decimal("0.001"), price=(price * Decimal("0.5")).quantize(Decimal("0.01")),
            )  # fmt: skip
            stop = _order(
                "a0", 2, OrderRole.STOP_LOSS, side=Side.SELL, type=OrderType.STOP_MARKET,
                qty=Decimal("0.001"), stop_price=(price * Decimal("0.8")).quantize(Decimal("0.01")),
            )  # fmt: skip
            calls = [
                ("markets", Lane.MARKET, lambda: venue.load(["BTC/USDT"])),
                ("candles", Lane.MARKET, feed.poll_once),
                ("ticker", Lane.MARKET, lambda: feed.fetch_ticker("BTC/USDT")),
                ("entry", Lane.ENTRY, lambda: venue.submit(entry)),
                ("stop-loss", Lane.PROTECT, lambda: venue.submit(stop)),
                ("balances", Lane.RECONCILE, lambda: venue.fetch_balances("a0")),
                ("open orders", Lane.RECONCILE, lambda: venue.fetch_open_orders("a0")),
                ("trades", Lane.RECONCILE, lambda: venue.fetch_fills("a0", "BTC/USDT")),
                ("order", Lane.RECONCILE, lambda: venue.fetch_order("a0", entry.client_id)),
                (
                    "orders",
                    Lane.RECONCILE,
                    lambda: venue.fetch_recent_orders("a0", "BTC/USDT"),
                ),
                ("order polling", Lane.RECONCILE, lambda: venue.refresh("a0")),
                ("cancel", Lane.PROTECT, lambda: venue.cancel("a0", entry.client_id)),
            ]
            for name, lane, call in calls:
                before = dict(budget.spent)
                await call()
                grew = {k for k, v in budget.spent.items() if v > before.get(k, 0.0)}
                assert grew == {lane.value}, (name, grew)
            assert not budget.held

    asyncio.run(main())
