"""The request budget on its own: published limits, lanes and the spare pool, the exchange's
headers, 429/418, and the windows shared through the database by two engines at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rampart.clock import SimClock
from rampart.store.db import open_database
from rampart.store.request_budget import SqlLedger
from rampart.venues.budget_lanes import ROWS
from rampart.venues.request_budget import (
    BudgetPolicy,
    BudgetRefused,
    Lane,
    RequestBudget,
    SharedLedger,
    Window,
    published_windows,
)
from rampart_testkit.simulator.weights import WeightLimits
from tests.budget.spender import spend_every_lane

MINUTE = 60_000
START = 1_800_000_000_000 // MINUTE * MINUTE
BINANCE = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


ALL_SPARE = BudgetPolicy(market=0, protect=0, reconcile=0, entry=0)
"""No lane reserves anything: one pool (the budget before lanes)."""


def budget(limit: float = 100, clock: SimClock | None = None, **policy: float) -> RequestBudget:
    return RequestBudget(
        "binance",
        "10.0.0.1",
        clock or SimClock(START),
        windows=[Window("REQUEST_WEIGHT", MINUTE, limit)],
        policy=BudgetPolicy(**policy),
    )


def spend_all(b: RequestBudget, lane: Lane, weight: float = 1) -> int:
    n = 0
    while b.try_spend(weight, lane) is None:
        n += 1
    return n


def rows(b: RequestBudget, start: int) -> float:
    """The window's count over every row (each lane and the spare pool) in the ledger."""
    window = b.windows[0]
    return sum(b.ledger.used_many([b._key(window, r) for r in ROWS], start))


def test_published_limits_are_the_per_address_ones() -> None:
    # ORDERS are counted per account by Binance: not pooled across the address.
    assert published_windows(BINANCE) == [
        Window("REQUEST_WEIGHT", 60_000, 6000),
        Window("RAW_REQUESTS", 300_000, 61000),
    ]
    assert published_windows([{"rateLimitType": "REQUEST_WEIGHT", "limit": "x"}, 3]) == []


def test_ccxt_costs_become_weights_once_the_limits_are_published() -> None:
    b = RequestBudget("binance", "a", SimClock(START), rate_limit_ms=50)
    assert b.limit() == pytest.approx(6000)  # ccxt's own pace until the venue says
    b.observe(
        200,
        {},
        '{"timezone":"UTC","serverTime":1,"rateLimits":'
        + str(BINANCE).replace("'", '"')
        + ',"symbols":[]}',
    )
    assert b.limit() == 6000
    # Binance in ccxt: cost 0.2 per weight unit (6000 a minute at one cost unit per 50 ms).
    assert b.weight(0.2) == pytest.approx(1)
    assert b.weight(4) == pytest.approx(20)
    # Another exchange's costs are spread over what it publishes.
    other = RequestBudget("kraken", "a", SimClock(START), rate_limit_ms=100)
    assert other.limit() == pytest.approx(600) and other.weight(2) == 2
    other.learn([{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "limit": 1200}])
    assert other.weight(2) == pytest.approx(4)


def test_each_lane_spends_its_share_then_the_spare_pool() -> None:
    b = budget(100, market=0.2, protect=0.1, reconcile=0.2, entry=0.1)  # 40 spare
    assert spend_all(b, Lane.ENTRY) == 50  # its 10, then the whole spare pool
    assert b.borrowed["entry"] == 40 and b.spent["entry"] == 50
    assert spend_all(b, Lane.RECONCILE) == 20  # its own share is still there
    assert spend_all(b, Lane.MARKET) == 20
    assert spend_all(b, Lane.PROTECT) == 10
    assert b.used_ratio() == pytest.approx(1.0)
    assert b.lane_used_ratio("spare") == pytest.approx(1.0)
    b.clock.advance(MINUTE)  # type: ignore[attr-defined]
    assert b.try_spend(1, Lane.ENTRY) is None  # a new window
    assert b.lane_used_ratio("entry") == pytest.approx(0.1)


def test_lanes_may_not_reserve_more_than_the_limit() -> None:
    with pytest.raises(ValueError, match="reserve 110 % of the request limit"):
        BudgetPolicy(market=0.5, protect=0.3, reconcile=0.2, entry=0.1)
    assert BudgetPolicy(market=0.5, protect=0.3, reconcile=0.2, entry=0).spare == 0


def test_polling_is_skipped_at_once_other_reads_wait_for_the_next_window() -> None:
    async def main() -> None:
        clock = SimClock(START + 1_000)
        b = budget(100, clock, read_wait_s=60, entry_wait_s=0)
        spend_all(b, Lane.RECONCILE)  # its 25 and the spare pool's 30
        with pytest.raises(BudgetRefused, match="no room in its reconcile lane"):
            await b.acquire(1, Lane.RECONCILE, poll=True)
        assert clock.now_ms() == START + 1_000  # skipped, not waited for
        with pytest.raises(BudgetRefused):
            await b.acquire(20, Lane.ENTRY)  # 15 left to entries, and they may not wait here
        await b.acquire(1, Lane.RECONCILE)  # waits on the Clock for the next window
        assert clock.now_ms() == START + MINUTE
        assert b.held[("reconcile", "refused")] == 1 and b.held[("reconcile", "waited")] == 1
        assert b.held[("entry", "refused")] == 1
        assert b.waited_s["reconcile"] == pytest.approx(59)

    asyncio.run(main())


def test_the_exchange_count_raises_ours_and_a_429_spends_the_address() -> None:
    b = budget(100)  # market 15, protect 15, reconcile 25, entry 15, spare 30
    assert b.try_spend(5, Lane.MARKET) is None
    b.observe(200, {"X-MBX-USED-WEIGHT-1M": "70"})  # another worker or program on the address
    assert b.used_ratio() == pytest.approx(0.70)
    b.observe(200, {"x-mbx-used-weight-1m": "10"})  # never lowers it
    assert b.used_ratio() == pytest.approx(0.70)
    # The 65 it did not count took the spare pool (30), entries' share (15) and 20 of
    # reconciliation's: market data and protective orders keep theirs.
    assert spend_all(b, Lane.ENTRY) == 0 and spend_all(b, Lane.RECONCILE) == 5
    assert spend_all(b, Lane.MARKET) == 10
    b.observe(429, {"Retry-After": "30"})
    assert b.refusals == 1 and b.blocked_until_ms == START + 30_000
    assert b.try_spend(1, Lane.PROTECT) == pytest.approx(30)  # even protective orders wait
    b.clock.advance(30_000)  # type: ignore[attr-defined]
    assert b.try_spend(1, Lane.PROTECT) == pytest.approx(30)  # the window is spent
    b.clock.advance(30_000)  # type: ignore[attr-defined]
    assert b.try_spend(1, Lane.MARKET) is None
    # A 418 bans for longer: every window until it ends is spent.
    b.observe(418, {"Retry-After": "120"})
    b.clock.advance(90_000)  # type: ignore[attr-defined]
    assert b.try_spend(1, Lane.PROTECT) == pytest.approx(30)


def test_headroom_reads_the_last_window_too() -> None:
    b = budget(100)
    spend_every_lane(b)
    assert b.headroom() == 0.0
    b.clock.advance(MINUTE)  # type: ignore[attr-defined]
    assert b.used_ratio() == 0.0 and b.headroom() == 0.0  # the last window ran dry
    b.clock.advance(MINUTE)  # type: ignore[attr-defined]
    assert b.headroom() == 1.0
    for _ in range(200):  # a day of windows later, only the last two are remembered
        b.try_spend(1, Lane.MARKET)
        b.clock.advance(MINUTE)  # type: ignore[attr-defined]
    assert len(b.seen) <= 65 * len(ROWS)


def test_two_engines_on_one_database_never_pass_the_limit(db_url: str, tmp_path: Path) -> None:
    """Two workers (each its own engine and budget) spend one window from two threads at once,
    in every lane: together they take exactly the room there is, never more."""
    open_database(db_url).dispose()  # migrated
    clock = SimClock(START)
    workers = []
    for _ in range(2):
        ledger = SharedLedger(SqlLedger(open_database(db_url, migrate=False)))
        workers.append(
            RequestBudget(
                "binance",
                "10.0.0.1",
                clock,
                ledger=ledger,
                windows=[Window("REQUEST_WEIGHT", MINUTE, 300)],
            )
        )
    spent = [0, 0]
    go = threading.Barrier(2)

    def run(i: int) -> None:
        go.wait()
        spent[i] = spend_every_lane(workers[i], 3)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(spent) == 100  # 300 weight in all, however the two threads interleaved
    ledger0 = workers[0].ledger
    assert isinstance(ledger0, SharedLedger) and not ledger0.failing
    assert rows(workers[0], START) == 300
    # The exchange's count reaches every worker through the rows (the spare pool and the
    # lanes' shares, protective orders' last).
    clock.advance(MINUTE)
    workers[0].observe(200, {"X-MBX-USED-WEIGHT-1M": "290"})
    assert spend_every_lane(workers[1], 3) == 3
    assert spend_all(workers[1], Lane.PROTECT, 3) == 0
    for w in workers:
        assert isinstance(w.ledger, SharedLedger) and isinstance(w.ledger.shared, SqlLedger)
        w.ledger.shared.engine.dispose()


def test_two_processes_on_one_database_never_pass_the_limit(db_url: str) -> None:
    """The same, with the other worker a separate process."""
    open_database(db_url).dispose()  # migrated
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.budget.spender", db_url, str(START), "3000", "3"],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        ledger = SqlLedger(open_database(db_url, migrate=False))
        mine = RequestBudget(
            "binance",
            "10.0.0.1",
            SimClock(START),
            ledger=ledger,
            windows=[Window("REQUEST_WEIGHT", MINUTE, 3000)],
        )
        child.stdin.write("go\n")
        child.stdin.flush()
        taken = spend_every_lane(mine, 3)
        theirs = int(child.stdout.readline())
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert taken + theirs == 1000  # 3,000 weight, never a request more
    assert rows(mine, START) == 3000
    ledger.engine.dispose()


def test_a_database_that_stops_answering_leaves_the_budget_in_process(tmp_path: Path) -> None:
    def broken() -> object:
        raise OSError("no database")

    ledger = SharedLedger(SqlLedger(broken))  # type: ignore[arg-type]
    b = RequestBudget(
        "binance",
        "a",
        SimClock(START),
        ledger=ledger,
        windows=[Window("REQUEST_WEIGHT", MINUTE, 10)],
        policy=ALL_SPARE,
    )
    assert spend_all(b, Lane.PROTECT) == 10  # counted in process meanwhile
    assert ledger.failing


def test_the_limits_are_read_from_binance_s_own_exchange_info() -> None:
    """The recorded answer (tests/contracts/binance), as Binance sends it: compact JSON with
    the limits before the symbols."""
    fixture = Path(__file__).parents[1] / "contracts" / "binance" / "exchange_info.json"
    answer = json.loads(fixture.read_text())["examples"][0]["response"]
    b = RequestBudget("binance", "a", SimClock(START), rate_limit_ms=50)
    b.observe(200, {"X-MBX-USED-WEIGHT-1M": "20"}, json.dumps(answer, separators=(",", ":")))
    assert b.windows == [Window("REQUEST_WEIGHT", 60_000, 6000)]  # its ORDERS are per account
    assert b.used_ratio() == pytest.approx(20 / 6000)


def test_the_simulator_counts_each_address_on_its_own() -> None:
    limits = WeightLimits(limit=100, ban_after=2, ban_s=120)
    assert limits.charge("10.0.0.1", START, 90).status == 200
    assert limits.charge("10.0.0.2", START, 90).status == 200  # another address, its own count
    refused = limits.charge("10.0.0.1", START + 1_000, 20)
    assert (refused.status, refused.retry_after_s) == (429, 59)
    assert limits.charge("10.0.0.1", START + 2_000, 1).status == 429  # told to wait: a strike
    banned = limits.charge("10.0.0.1", START + 3_000, 1)
    assert (banned.status, banned.retry_after_s) == (418, 120)
    assert limits.charge("10.0.0.2", START + 3_000, 10).status == 200
    # The next window does not lift a ban; its end does.
    assert limits.charge("10.0.0.1", START + MINUTE, 1).status == 418
    assert limits.charge("10.0.0.1", START + 3_000 + 120_000, 1).status == 200
    assert limits.refused == 2 and limits.bans == 1
