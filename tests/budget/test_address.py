"""Hundreds of accounts' ccxt clients on one address against the exchange simulator, which
counts weight per address as Binance does (429 past the minute's limit, 418 for an address
that keeps sending). Everything runs on one injected clock: the simulator's windows, the
clients' signatures and the budget's windows; no test waits on the wall clock.

Traffic goes in rounds: every account still waiting sends at once; what the budget holds
back is sent again after the clock has moved to the next window (nothing is in flight then,
so a request is paid and charged in the same window)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.orders import Order, OrderRole, OrderType, Side, client_order_id
from rampart.store.db import open_database
from rampart.store.request_budget import SqlLedger
from rampart.venues.budget_chunks import ChunkedLedger
from rampart.venues.ccxt_budget import spending
from rampart.venues.ccxt_errors import CcxtCaller, Op
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.request_budget import BudgetPolicy, Lane, RequestBudget, SharedLedger
from rampart.venues.retry import RetryPolicy
from rampart_testkit.simulator import SimulatorHandle, ccxt_client, start_simulator

MINUTE = 60_000
START = 1_800_000_000_000 // MINUTE * MINUTE
ACCOUNTS = 240
LIMIT = 1200
"""REQUEST_WEIGHT per minute the simulator enforces and publishes (Binance: 6000)."""
ONCE = RetryPolicy(attempts=1)
READS = Lane.RECONCILE
READ_ROOM = int(LIMIT * (0.25 + 0.30))
"""What reconciliation reads may spend of a window by default: their lane and the spare pool."""


@dataclass
class Address:
    sim: SimulatorHandle
    clock: SimClock
    clients: dict[str, Any]
    public: Any

    def client(self, **config: Any) -> Any:
        return ccxt_client(
            self.sim.url, clock_ms=self.clock.now_ms, enableRateLimit=False, **config
        )


@asynccontextmanager
async def address(accounts: int, limit: int = LIMIT, **balances: str) -> AsyncIterator[Address]:
    clock = SimClock(START)
    async with (
        start_simulator(request_limit=limit, clock_ms=clock.now_ms) as sim,
        aiohttp.ClientSession() as session,
    ):
        # One HTTP session for every client, as from one machine, and no TLS (plain HTTP on
        # loopback): each client would otherwise load the system's certificates, 40 ms apiece.
        await sim.advance(3)
        clients: dict[str, Any] = {}
        for i in range(accounts):
            key, secret = sim.create_account(balances or {"USDT": "10000"}, account_id=f"a{i}")
            clients[f"a{i}"] = ccxt_client(
                sim.url, key, secret, clock_ms=clock.now_ms, enableRateLimit=False,
                timeout=30_000, session=session, verify=False,
            )  # fmt: skip
        public = ccxt_client(sim.url, clock_ms=clock.now_ms, enableRateLimit=False)
        try:
            yield Address(sim, clock, clients, public)
        finally:
            await asyncio.gather(*(c.close() for c in [public, *clients.values()]))


def new_budget(clock: SimClock, **policy: float) -> RequestBudget:
    return RequestBudget("binance", "127.0.0.1", clock, policy=BudgetPolicy(**policy))


async def load_markets(a: Address, caller: CcxtCaller | None) -> None:
    """The public client loads the markets (exchangeInfo, weight 20), every account client
    shares them, as the venue's clients do."""
    if caller is None:
        await a.public.load_markets()
    else:
        await caller.call(
            a.public, "load_markets", Op.READ, a.public.load_markets, lane=Lane.MARKET
        )
    for client in a.clients.values():
        client.set_markets_from_exchange(a.public)


async def balances_in_rounds(
    a: Address, caller: CcxtCaller, max_rounds: int = 12
) -> tuple[int, list[int]]:
    """Every account asks its balance (weight 20, a reconciliation read), polling: sent again
    next window when held back. Returns how many got an answer and the simulator's count after
    each round."""
    pending = dict(a.clients)
    peaks: list[int] = []
    answered = 0
    for _ in range(max_rounds):
        if not pending:
            break
        with spending(poll=True):
            results = await asyncio.gather(
                *(
                    caller.call(c, "fetch_balance", Op.READ, c.fetch_balance, lane=READS)
                    for c in pending.values()
                ),
                return_exceptions=True,
            )
        peaks.append(a.sim.context.weights.most_used())
        answered += sum(1 for r in results if not isinstance(r, BaseException))
        for (account, _), result in zip(list(pending.items()), results, strict=True):
            if not isinstance(result, BaseException):
                del pending[account]
            else:
                assert isinstance(result, VenueError), result
        a.clock.advance(MINUTE)
    return answered, peaks


def test_accounts_sharing_the_budget_stay_under_the_address_limit() -> None:
    async def main() -> None:
        async with address(ACCOUNTS) as a:
            budget = new_budget(a.clock)
            caller = CcxtCaller("binance", a.clock, ONCE, budget=budget)
            await load_markets(a, caller)
            assert budget.limit() == LIMIT  # published by the venue, learned on the way
            answered, peaks = await balances_in_rounds(a, caller)
            assert answered == ACCOUNTS
            errors = a.sim.context.errors
            assert errors[429] == 0 and errors[418] == 0
            # Reads stop at their lane and the spare pool (25 % + 30 %), the rest kept for
            # the other lanes; exchangeInfo (20) was market data.
            assert max(peaks) == READ_ROOM + 20
            # 4,800 weight at 660 a window.
            assert len(peaks) == 8
            assert budget.held[("reconcile", "refused")] > 0

    asyncio.run(main())


def test_the_same_traffic_without_the_budget_is_refused_then_banned() -> None:
    async def main() -> None:
        async with address(ACCOUNTS) as a:
            caller = CcxtCaller("binance", a.clock, ONCE)  # each client on its own
            await load_markets(a, None)
            answered, _ = await balances_in_rounds(a, caller, max_rounds=1)
            errors = a.sim.context.errors
            assert answered == (LIMIT - 20) // 20  # what fitted before the first 429
            assert errors[429] >= 1 and errors[418] >= 1
            assert a.sim.context.weights.bans == 1

    asyncio.run(main())


def test_the_exchange_count_holds_the_budget_back_for_another_program() -> None:
    """Another program on the same address (no budget) spent weight; the first answer's
    used-weight header tells the budget, which then leaves the rest of the window alone."""

    async def main() -> None:
        async with address(60) as a:
            budget = new_budget(a.clock)
            caller = CcxtCaller("binance", a.clock, ONCE, budget=budget)
            await load_markets(a, caller)
            rogue = a.client()
            rogue.set_markets_from_exchange(a.public)
            try:
                for _ in range(30):
                    await rogue.fetch_ticker("BTC/USDT")  # 30 x 2: 60 more weight
                first = next(iter(a.clients.values()))
                await caller.call(first, "fetch_balance", Op.READ, first.fetch_balance, lane=READS)
                assert budget.used_ratio() == pytest.approx((20 + 60 + 20) / LIMIT)
                answered, peaks = await balances_in_rounds(a, caller, max_rounds=1)
                # The 60 the budget did not count came out of the spare pool.
                assert answered == (READ_ROOM - 20 - 60) // 20
                assert a.sim.context.errors[429] == 0
            finally:
                await rogue.close()

    asyncio.run(main())


def test_after_a_429_no_client_on_the_address_sends_until_told() -> None:
    """Another program took the whole window: the first budgeted request is refused (429)
    and its Retry-After stops every account's client, so none earns the address a ban."""

    async def main() -> None:
        async with address(60) as a:
            budget = new_budget(a.clock)
            caller = CcxtCaller("binance", a.clock, ONCE, budget=budget)
            await load_markets(a, caller)
            rogue = a.client()
            rogue.set_markets_from_exchange(a.public)
            try:
                while a.sim.context.weights.most_used() + 2 <= LIMIT:
                    await rogue.fetch_ticker("BTC/USDT")
            finally:
                await rogue.close()
            first = a.clients["a0"]
            with pytest.raises(VenueError, match="rate limit"), spending(poll=True):
                await caller.call(first, "fetch_balance", Op.READ, first.fetch_balance)
            assert budget.refusals == 1
            # Every account polls before the window turns: the budget sends none of them.
            answered, _ = await balances_in_rounds(a, caller, max_rounds=1)
            assert answered == 0 and a.sim.context.errors[429] == 1
            assert a.sim.context.errors[418] == 0
            assert budget.held[("reconcile", "refused")] == 60
            answered, _ = await balances_in_rounds(a, caller, max_rounds=1)  # next minute
            assert answered == READ_ROOM // 20
            assert a.sim.context.errors[418] == 0

    asyncio.run(main())


def _order(account: str, seq: int, role: OrderRole, **fields: Any) -> Order:
    return Order(
        client_id=client_order_id(account, seq, role),
        account_id=account,
        symbol="BTC/USDT",
        role=role,
        **fields,
    )


def test_protective_orders_go_through_while_entries_are_held_back() -> None:
    async def main() -> None:
        async with address(1, limit=100, USDT="100000", BTC="1") as a:
            budget = new_budget(a.clock, entry_wait_s=0, protect_wait_s=120)
            venue = CcxtVenue(a.clients, clock=a.clock, public=a.public, policy=ONCE, budget=budget)
            await venue.load(["BTC/USDT"])  # exchangeInfo: 20
            price = a.sim.exchange.last_price("BTC/USDT")
            low = (price * Decimal("0.5")).quantize(Decimal("0.01"))
            entries = 0
            with pytest.raises(VenueError) as refused:
                for seq in range(1, 200):
                    await venue.submit(
                        _order(
                            "a0", seq, OrderRole.ENTRY, side=Side.BUY, type=OrderType.LIMIT,
                            qty=Decimal("0.001"), price=low,
                        )
                    )  # fmt: skip
                    entries += 1
            assert refused.value.code == "rate_limited"
            assert "held this request back" in refused.value.message
            used = a.sim.context.weights.most_used()
            # Entries stop when their lane (15) and the spare pool (30) are spent; exchangeInfo
            # (20) was market data.
            assert entries > 10 and used == 20 + 15 + 30
            protective = 0
            while a.clock.now_ms() == START:  # the protect lane is the protective orders'
                # Exits (market sells closing a position), weight 1 each; a stop-loss is paid
                # the same, but Binance allows only five open on a market.
                await venue.submit(
                    _order(
                        "a0", 300 + protective, OrderRole.EXIT, side=Side.SELL,
                        type=OrderType.MARKET, qty=Decimal("0.001"),
                    )
                )  # fmt: skip
                protective += 1
            # Those that fitted in the protect lane (15) went at once; the one that did not
            # waited on the clock for the next window and went then: none was refused.
            assert protective == 15 + 1
            assert a.clock.now_ms() == START + MINUTE
            errors = a.sim.context.errors
            assert errors[429] == 0 and errors[418] == 0
            assert a.sim.state()["orders"] == entries + protective

    asyncio.run(main())


@pytest.mark.parametrize("chunked", [False, True], ids=["per-request", "in-blocks"])
def test_two_workers_sharing_the_budget_through_the_database_stay_under_the_limit(
    db_url: str, chunked: bool
) -> None:
    """Two workers (each its own database engine and budget) trade half the accounts each
    from the same address, at once: the row per window keeps them, together, in the limit,
    whether each request is counted there or blocks of a tenth of the room are (what a block
    holds unspent at the end is room neither worker used)."""

    async def main() -> None:
        async with address(ACCOUNTS) as a:
            open_database(db_url).dispose()  # migrated
            engines = [open_database(db_url, migrate=False) for _ in range(2)]
            try:
                ledgers = [SharedLedger(SqlLedger(e)) for e in engines]
                budgets = [
                    RequestBudget(
                        "binance",
                        "127.0.0.1",
                        a.clock,
                        ledger=ChunkedLedger(ledger, 0.1) if chunked else ledger,
                    )
                    for ledger in ledgers
                ]
                callers = [CcxtCaller("binance", a.clock, ONCE, budget=b) for b in budgets]
                await load_markets(a, callers[0])
                await callers[1].call(  # each worker loads the markets and learns the limits
                    a.public,
                    "load_markets",
                    Op.READ,
                    lambda: a.public.load_markets(True),
                    lane=Lane.MARKET,
                )
                names = sorted(a.clients)
                worker = {n: callers[i % 2] for i, n in enumerate(names)}
                with spending(poll=True):  # one round, both workers at once
                    results = await asyncio.gather(
                        *(
                            worker[n].call(c, "fetch_balance", Op.READ, c.fetch_balance, lane=READS)
                            for n, c in a.clients.items()
                        ),
                        return_exceptions=True,
                    )
                answered = sum(1 for r in results if not isinstance(r, BaseException))
                assert all(
                    isinstance(r, VenueError) for r in results if isinstance(r, BaseException)
                )
                most = READ_ROOM // 20
                # Both took part, and both held back what the other had already taken.
                assert all(b.held[("reconcile", "refused")] > 0 for b in budgets)
                assert a.sim.context.errors[429] == 0
                if not chunked:
                    assert answered == most
                    assert a.sim.context.weights.most_used() == 40 + READ_ROOM
                    return
                # Each worker may end holding up to a block in each of its two rows (a tenth
                # of the lane's 300 and of the spare pool's 360) it had no request left for.
                assert most - 2 * (30 + 36) // 20 <= answered <= most
                assert a.sim.context.weights.most_used() == 40 + 20 * answered <= 40 + READ_ROOM
            finally:
                for e in engines:
                    e.dispose()

    asyncio.run(main())
