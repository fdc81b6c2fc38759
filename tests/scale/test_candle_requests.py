"""The exchange requests a shard makes per candle, pinned.

Counted on the simulator with the real ccxt client (``bench``-like shape: one-second candles,
a market entry the exchange fills a part per candle), a shard of six accounts made 4.6
requests a candle: its candle's poll and then its follow turn asked the same accounts' open
orders twice a second, and each account read the exchange's average price before each of its
protective pairs, the whole fleet entering on the same candles. On an exchange that answered
26-34 requests a second for a whole fleet under overload the workers fell behind the market,
and a shard they took decided first on a candle from before the fault. Now a follow turn leaves
out an account a candle's poll asked less than ``venue.follow_every_s`` ago, and the average is
read once a symbol per candle. Fills are still followed to the end (the last test): the fills'
REST backstop comes at least every ``follow_every_s``."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, OrderStatus, Side
from rampart.fleet.shard import ShardTrader
from rampart.trading.reconcile.adopt import ID_GAP
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.wiring.fleet_parts import shard_trader
from rampart.wiring.venue_kinds import load_instruments
from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle
from tests.scale.test_take_check_later import _holder_with_a_position, _settings
from tests.scale.test_take_check_later import _trader as _take_trader

SYMBOL = "BTC/USDT"
SLOW = Decimal("0.0005")
"""The simulator's participation: a market entry fills a part per candle of its market."""
ACCOUNTS = ("a1", "a2")
OPEN_ORDERS = "/api/v3/openOrders"
NEW_OCO = "/api/v3/orderList/oco"
ORDER = "/api/v3/order"
AVERAGE = "/api/v3/avgPrice"


class Wall:
    """The venue's monotonic wall, moved by the test."""

    def __init__(self) -> None:
        self.s = 1000.0

    def __call__(self) -> float:
        return self.s


async def _trader(pg_url: str, sim: SimulatorHandle) -> ShardTrader:
    creds = {}
    for account in ACCOUNTS:
        key, secret = sim.create_account({"USDT": "10000"}, account_id=account)
        creds[account] = {"api_key": key, "secret": secret}
    settings = load_settings(
        store={"url": pg_url},
        feed={"symbols": [SYMBOL]},
        venue={
            "kind": "ccxt",
            "api_url": sim.url,
            "rate_limit_ms": 1,
            "request_timeout_s": 2,
            "use_order_stream": False,
            "follow_every_s": 1.0,
            "credentials": creds,
        },
        accounts=[
            {"id": a, "agent": "trend", "symbols": [SYMBOL], "capital": "10000"} for a in ACCOUNTS
        ],
        alerts={"enabled": False},
        api={"enabled": False},
        scale={"shards": 1},
    )
    instruments = await load_instruments(settings, [SYMBOL])
    trader = shard_trader(
        settings, 0, 1, SimClock(sim.exchange.now_ms), instruments,
        db=None, fence=lambda conn: None, wrap_venue=lambda v: v,
    )  # fmt: skip
    await trader.take([])
    return trader


def _ccxt(trader: ShardTrader) -> CcxtVenue:
    venue: Any = trader.engine.venue
    while not isinstance(venue, CcxtVenue):
        venue = venue.wrapped
    return venue


def _entry(sim: SimulatorHandle, trader: ShardTrader, account: str) -> Intent:
    price = sim.exchange.last_price(SYMBOL)
    inst = trader.engine.venue.instrument(SYMBOL)
    return Intent(
        account, SYMBOL, Side.BUY, IntentAction.OPEN, price,
        inst.round_price(price * Decimal("0.98")), inst.round_price(price * Decimal("1.03")),
        agent="scripted", ts=sim.exchange.now_ms,
    )  # fmt: skip


async def _counted(sim: SimulatorHandle, step: Any) -> Counter[str]:
    before = Counter(sim.context.requests)
    await step
    return Counter(sim.context.requests) - before


async def _entries_under_way(sim: SimulatorHandle, trader: ShardTrader) -> Counter[str]:
    """Both accounts enter at the same candle; the requests that made. The entries are left
    partly filled (the exchange fills a part per candle)."""
    engine = trader.engine
    for candle in sim.exchange.tape_last():
        await trader.trade(candle)

    async def both() -> None:
        for account in ACCOUNTS:
            acct = engine.accounts[account]
            assert await engine.handle_intent(acct, _entry(sim, trader, account)), acct.rejections

    sent = await _counted(sim, both())
    for account in ACCOUNTS:
        (entry,) = [
            o for o in engine.accounts[account].orders.values() if o.role is OrderRole.ENTRY
        ]
        assert entry.status is not OrderStatus.FILLED, "filled at once: the test proves nothing"
    return sent


def test_one_average_price_read_a_candle_for_every_protective_pair_of_the_shard(
    pg_url: str,
) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL], participation=SLOW) as sim:
            await sim.advance(3)
            trader = await _trader(pg_url, sim)
            sent = await _entries_under_way(sim, trader)
            pairs = sent["/api/v3/orderList/oco"]
            assert pairs == len(ACCOUNTS)  # each account's position under its pair
            assert sent[AVERAGE] == 1  # one read for both pairs of this candle
            await trader.drop()

    asyncio.run(go())


def test_a_follow_turn_leaves_out_the_accounts_a_candles_poll_just_asked(pg_url: str) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL], participation=SLOW) as sim:
            await sim.advance(3)
            trader = await _trader(pg_url, sim)
            wall = Wall()
            venue = _ccxt(trader)
            venue.wall = wall
            await _entries_under_way(sim, trader)
            for _ in range(3):  # steady: a candle, then a follow turn within follow_every_s
                await sim.advance(1)
                (candle,) = sim.exchange.tape_last()
                polled = await _counted(sim, trader.trade(candle))
                assert polled[OPEN_ORDERS] == len(ACCOUNTS)  # the candle's poll: each account
                wall.s += 0.5
                followed = await _counted(sim, trader.follow(sim.exchange.now_ms))
                # Asked half a second ago: the turn reads nothing. It may grow a pair the
                # entry left short (a cancel of the old leg and a new pair per account).
                grown = followed.pop(NEW_OCO, 0)
                assert followed[ORDER] <= grown, followed
                followed.pop(ORDER, None)
                assert sum(followed.values()) == 0, followed
                wall.s += 0.5
            # No candle for follow_every_s (a worker behind the market): the turn asks.
            followed = await _counted(sim, trader.follow(sim.exchange.now_ms))
            assert followed[OPEN_ORDERS] == len(ACCOUNTS)
            await trader.drop()

    asyncio.run(go())


def test_a_take_reads_each_accounts_open_orders_for_its_books_not_again_for_its_ids(
    pg_url: str,
) -> None:
    """A takeover's pass read each account's open orders twice before its first decision: to
    move its order ids past the venue's, then to reconcile. The market's newest orders, read
    for the ids anyway, hold the account's own: an open order they leave out is older, its id
    far below the gap a takeover adds."""

    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            await sim.advance(3)
            settings = _settings(pg_url, sim)
            held = await _holder_with_a_position(settings, sim)
            taker = _take_trader(settings, sim, await load_instruments(settings, [SYMBOL]))
            asked = await _counted(sim, taker.take([]))
            # The stop from the checkpoint polled, the pass's read, the poll after the balances.
            assert asked[OPEN_ORDERS] == 3, asked
            assert asked["/api/v3/allOrders"] == 1  # the newest orders: the ids from them
            acct = taker.engine.accounts["a1"]
            assert acct.ledger.positions[SYMBOL].qty == held
            assert acct.seq >= ID_GAP  # past every id the exchange has seen, by the gap
            await taker.drop()

    asyncio.run(go())
