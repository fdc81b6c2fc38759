"""An investor's exchange key connected through ``rampart serve`` and traded by a worker on the
exchange: the real path, not paper.

The investor talks to the server's bot (python-telegram-bot against the local Bot API
stand-in): ``/connect binance``, the key, the secret (each message deleted, the key checked
with one balance read on the exchange simulator and sealed under the master key), ``/invest``.
The server reads the balance with the key and sends the account to the worker holding its
shard, which opens the key from the store, builds a ccxt client with it and trades: a proposed
trade becomes an order on the simulator under that key's account, with its stop-loss resting
there. The worker is then stopped as a killed process stops; another takes the shard over at
the end of the lease, opens the key from the store again and finds the stop on the exchange.
A wrong key is refused in one sentence and changes nothing.

Liveness runs on a SimClock the test advances; candles go round when the test publishes them;
waits are on conditions, bounded only so that a broken run fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from rich.console import Console

from rampart.clock import FeedClock, SimClock, WallClock
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, Side
from rampart.domain.shards import shard_of
from rampart.messaging.commands import CommandSender
from rampart.messaging.market import CandlePublisher, market_stream
from rampart.messaging.nats_link import command_stream, connect
from rampart.operator import intents
from rampart.operator.investors import account_id_for
from rampart.security.secrets import generate_key
from rampart.store import models as m
from rampart.wiring.serve import Server
from rampart_testkit.botapi.shapes import TOKEN
from rampart_testkit.botapi.standin import FakeBotApi
from rampart_testkit.simulator.runner import serve
from rampart_testkit.soak import build
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.scale_workers import ScaleConfig, SoakWorker, settings
from tests.scale.nats_server import NatsServer
from tests.scale.test_serve import run_server, serving
from tests.scale.test_workers import HANG_GUARD_S, nats  # noqa: F401 - the fixture

INVESTOR = 4242
OPERATOR = 900
SHARDS = 2
CENT = Decimal("0.01")
"""The simulator's BTC/USDT price step."""
REFUSED = "binance refused that key and secret; check them and try /connect again."


def key_of(trader: Any, account_id: str) -> str:
    """The API key of the ccxt client the shard's venue trades ``account_id`` with."""
    venue = trader.engine.venue
    while hasattr(venue, "wrapped"):  # the fence and the metrics around the ccxt venue
        venue = venue.wrapped
    return str(venue.client(account_id).apiKey)


def credentials_rows(db: sa.Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(sa.select(m.credentials)).mappings())


class Stand:
    """The simulator, the feed publishing on NATS, the liveness clock and the workers."""

    def __init__(self, sim: Any, cfg: SoakConfig, nc: Any, publisher: CandlePublisher) -> None:
        self.sim, self.cfg, self.nc, self.publisher = sim, cfg, nc, publisher
        self.ops = SimClock(sim.exchange.now_ms)
        self.feed_clock = SimClock(sim.exchange.now_ms)
        self.feed = build.feed(cfg, sim, self.feed_clock, set(), lambda *_: None)
        self.last: dict[str, int] = {}
        self.workers: list[SoakWorker] = []
        self.sender: CommandSender | None = None

    async def publish(self) -> None:
        self.feed_clock.set(max(self.feed_clock.now_ms(), self.sim.exchange.now_ms))
        candles, _ok = await self.feed.poll_once()
        for candle in candles:
            await self.publisher.publish(candle)
            self.last[candle.symbol] = max(self.last.get(candle.symbol, 0), candle.close_ts)

    async def step(self, candles: int = 1) -> None:
        """Candles released, published and traded by every worker; liveness 2 s on a candle;
        then every worker's lease round."""
        assert self.sender is not None
        for _ in range(candles):
            await self.sim.advance(1)
            await self.publish()
            self.ops.advance(2_000)
            await self.sender.heartbeat()
            for worker in self.workers:
                assert await worker.wait_until(dict(self.last))
            for worker in self.workers:
                await worker.lease_round()

    async def start(self, settings_: Any, name: str) -> SoakWorker:
        worker = SoakWorker(settings_, name, self.ops)
        await worker.start()
        self.workers.append(worker)
        assert await worker.wait_until(dict(self.last))
        return worker


async def until(done: Callable[[], bool], what: str) -> None:
    """Another task's progress (the bot's polling), bounded so that a broken run fails."""
    async with asyncio.timeout(HANG_GUARD_S):
        while not done():
            await asyncio.sleep(0.02)
    assert done(), what


def test_an_exchange_key_connected_through_serve_is_traded_by_the_worker_holding_its_shard(
    tmp_path: Path,
    nats: NatsServer,  # noqa: F811 - the fixture
    pg_url: str,
) -> None:
    cfg = SoakConfig(accounts=1, out_dir=tmp_path, sim_history=100_000, symbols=("BTC/USDT",))
    bot_api = FakeBotApi()
    bot_api.limits = False
    bot_api.meet(OPERATOR)

    async def handled(update_id: int, what: str) -> None:
        """The bot has handled the update and sent its answers. Its pacer (one message a
        second to a chat) waits on the liveness clock: moved on to when the next is due, and
        the workers renew their leases at that time."""

        def done() -> bool:
            pacer = server.bot.pacer
            due = pacer.next_due_ms() if pacer is not None else None
            if due is not None and due > stand.ops.now_ms():
                stand.ops.set(due)
            return server.bot.processed >= update_id

        await until(done, what)
        for worker in stand.workers:
            await worker.lease_round()

    async def said(text: str) -> list[str]:
        """``text`` from the investor, handled by the server's bot: what it answered."""
        before = len(bot_api.texts(INVESTOR))
        await handled(bot_api.push_text(INVESTOR, text), text)
        return bot_api.texts(INVESTOR)[before:]

    async def press(label: str) -> None:
        data, message_id = bot_api.button(INVESTOR, label)
        await handled(bot_api.push_button(INVESTOR, data, message_id), label)

    async def scenario() -> None:
        nonlocal server, stand
        await bot_api.start()
        async with serve(build.exchange(cfg), fault_seed=cfg.seed) as sim:
            await sim.advance(cfg.warmup_candles + 2)
            keys = {
                a: sim.create_account({"USDT": "10000"}, account_id=a) for a in cfg.account_ids()
            }
            key, secret = sim.create_account({"USDT": "1000"}, account_id="investor-on-sim")
            base = settings(cfg, ScaleConfig(shards=SHARDS), sim, keys, pg_url, nats.url)
            telegram = base.telegram.model_copy(
                update={
                    "api_url": bot_api.url,
                    "operator_ids": [OPERATOR],
                    "operator_chat_id": OPERATOR,
                    "poll_timeout_s": 1,
                }
            )
            config = base.model_copy(
                update={
                    "mode": "testnet",
                    "master_key": SecretStr(generate_key()),
                    "telegram_token": SecretStr(TOKEN),
                    "telegram": telegram,
                }
            )
            nc = await connect(nats.url, "test-feed")
            stand = Stand(sim, cfg, nc, CandlePublisher(await market_stream(nc, 200)))
            stand.sender = CommandSender(nc, await command_stream(nc), stand.ops)
            await stand.publish()  # the history the workers warm on
            w1 = await stand.start(config, "w1")
            await stand.step(2)
            assert len(w1.traders) == SHARDS
            server = Server(
                serving(config, 5.0),
                Console(quiet=True),
                ops_clock=FeedClock(stand.ops, WallClock()),
                install_signals=False,
                scheduler=False,
            )
            serving_task, _headers = await run_server(server, stand.ops.now_ms())
            try:
                await exchange_key_scenario(
                    stand, server, bot_api, config, (key, secret), said, press
                )
            finally:
                server.stop.set()
                await serving_task
                for worker in stand.workers:
                    await worker.stop_cleanly()
                await stand.feed.close()
                await nc.close()
        await bot_api.close()

    server: Any = None
    stand: Any = None
    asyncio.run(scenario())


async def exchange_key_scenario(
    stand: Stand,
    server: Server,
    bot_api: FakeBotApi,
    config: Any,
    credentials: tuple[str, str],
    said: Callable[[str], Any],
    press: Callable[[str], Any],
) -> None:
    db = server.db
    key, secret = credentials
    account_id = account_id_for(INVESTOR)
    await said("/start")
    await press("I accept")

    # A key the exchange does not know: one sentence, nothing stored, nothing started.
    assert "API key" in (await said("/connect binance"))[0]
    await said("a" * 64)
    assert await said("b" * 64) == [REFUSED]
    assert credentials_rows(db) == []

    # The investor's own key: each message deleted, the key sealed under the master key.
    await said("/connect binance")
    mark = len(stand.sim.exchange.keys)
    deleted_before = sum(1 for meth, _p in bot_api.calls if meth == "deleteMessage")
    await said(key)
    connected = await said(secret)
    assert "works and is saved encrypted" in connected[-1], connected
    assert len(stand.sim.exchange.keys) == mark
    deletes = sum(1 for meth, _p in bot_api.calls if meth == "deleteMessage")
    assert deletes - deleted_before == 2
    [row] = credentials_rows(db)
    assert row["account_id"] == account_id
    assert key not in repr(dict(row)) and secret not in repr(dict(row))

    # /invest: the server reads the balance with the key; the worker holding the shard opens
    # the key from the store and trades the account with a ccxt client of its own.
    invested = await said("/invest 1000")
    assert "Trading has started" in invested[-1], invested
    shard = shard_of(account_id, SHARDS)
    trader = stand.workers[0].traders[shard]
    assert account_id in trader.engine.accounts
    assert key_of(trader, account_id) == key

    await stand.step(1)
    engine = trader.engine
    mark_price = engine.marks["BTC/USDT"]
    intent = Intent(
        account_id=account_id,
        symbol="BTC/USDT",
        side=Side.BUY,
        action=IntentAction.OPEN,
        entry_price=mark_price,
        stop_loss=(mark_price * Decimal("0.99")).quantize(CENT),
        take_profit=(mark_price * Decimal("1.02")).quantize(CENT),
        agent="investor",
        ts=engine.clock.now_ms(),
    )
    placed = await intents.place(server.bot.desk, intent, f"telegram:{INVESTOR}")  # type: ignore[union-attr]
    assert placed.approved, placed.reason

    def stop_on_exchange() -> list[str]:
        sub = stand.sim.exchange.sub("investor-on-sim")
        return [o.client_id for o in sub.open.values() if "STOP" in str(o.type).upper()]

    for _ in range(10):
        if stop_on_exchange():
            break
        await stand.step(1)
    [stop_id] = stop_on_exchange()
    assert stand.sim.exchange.trades["investor-on-sim"], "the entry filled under the key"
    acct = engine.accounts[account_id]
    assert acct.orders[stop_id].role is OrderRole.STOP_LOSS

    # The worker stops as a killed process does; w2 takes the shard at the end of the lease,
    # opens the key from the store again, and finds the position's stop on the exchange.
    w1 = stand.workers.pop(0)
    await w1.crash()
    w2 = await stand.start(config, "w2")
    for _ in range(8):
        if shard in w2.traders:
            break
        await stand.step(1)
    taken = w2.traders[shard]
    assert taken.trading and account_id in taken.engine.accounts
    assert key_of(taken, account_id) == key
    await stand.step(1)
    again = taken.engine.accounts[account_id]
    assert stop_id in stop_on_exchange()
    assert again.orders[stop_id].role is OrderRole.STOP_LOSS and again.orders[stop_id].is_open
    assert again.ledger.positions, "the position carried over from the exchange"
