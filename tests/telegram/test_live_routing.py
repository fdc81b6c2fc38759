"""Investor accounts trade through their own exchange key, end to end: ``Service`` in testnet
mode with a ccxt venue pointed at the exchange simulator, the real Telegram bot inside it
long-polling the local Bot API stand-in.

Two investors connect their own simulator keys; the engine's orders for each land on the
simulator under that key's account and never under the other's; the capital is what the
exchange account holds (capped by /invest); a restart restores the routing before the
checkpoint loads and the account trades again; /disconnect is refused while a position is
open and afterwards stops the account and drops its client; no key text is written anywhere.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from rampart.config import load_settings
from rampart.domain.errors import RampartError
from rampart.domain.orders import OrderRole
from rampart.observability.logging import configure_logging
from rampart.operator.routing import decide_capital
from rampart.security.secrets import generate_key
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.wiring.service import Service
from rampart.wiring.venues import account_clients, investor_client
from rampart_testkit.botapi.standin import FakeBotApi
from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle
from tests.telegram.conftest import ALICE, BOB, OPERATOR, TOKEN, TgService
from tests.test_service_exchange import MarketClock

MINUTE = 60_000
HISTORY = 320
CAROL = 103
LIMIT_S = 30.0


def ccxt_venue(venue: Any) -> CcxtVenue | None:
    """The CcxtVenue under the metrics wrapper, to look at its clients (None on paper)."""
    while venue is not None and not isinstance(venue, CcxtVenue):
        venue = getattr(venue, "wrapped", None)
    return venue


class LiveService:
    """One ``Service`` run (testnet, ccxt venue on the simulator) with its own Bot API."""

    def __init__(self, tmp_path: Path, sim: SimulatorHandle, master_key: str, run: int) -> None:
        self.tmp_path = tmp_path
        self.sim = sim
        self.master_key = master_key
        self.run = run
        self.api = FakeBotApi()

    async def __aenter__(self) -> LiveService:
        await self.api.start()
        settings = load_settings(
            mode="testnet",
            store={
                "url": f"sqlite:///{self.tmp_path / 'rampart.db'}",
                "checkpoint_every": 5,
                "allow_sqlite_on_exchange": True,  # a testnet trial on SQLite, said so
            },
            api={"enabled": False},
            alerts={"enabled": False},
            feed={"kind": "ccxt", "symbols": ["BTC/USDT"], "poll_every_s": 0.01},
            venue={
                "kind": "ccxt",
                "exchange": "binance",
                "api_url": self.sim.url,
                "request_timeout_s": 5,
            },
            accounts=[],
            telegram_token=TOKEN,
            master_key=self.master_key,
            telegram={
                "operator_ids": [OPERATOR],
                "rate_per_minute": 1000,
                "poll_timeout_s": 1,
                "api_url": self.api.url,
            },
        )
        screen = (self.tmp_path / f"screen{self.run}.txt").open("w")
        self.service = Service(
            settings,
            Console(file=screen, width=160),
            view=False,
            feed_clock=MarketClock(self.sim),
            install_signals=False,
        )
        self.task = asyncio.create_task(self.service.run())
        await self.until(
            lambda: (
                self.service.opened.is_set()
                and getattr(self.service.exchange_loop, "warmed", False)
                and any(m == "getUpdates" for m, _ in self.api.calls)
            )
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.service.stop.set()
        await asyncio.wait_for(self.task, timeout=LIMIT_S)
        await self.api.close()

    @property
    def engine(self) -> Any:
        assert self.service.session is not None
        return self.service.session.engine

    async def until(self, done: Any) -> None:
        for _ in range(int(LIMIT_S / 0.01)):
            if done():
                return
            if self.task.done():
                self.task.result()
                raise AssertionError("the service stopped")
            await asyncio.sleep(0.01)
        raise AssertionError("the service did not get there in time")

    async def _handled(self) -> None:
        target = len(self.api.updates)

        def handled() -> bool:
            bot = self.service.bot if self.service.opened.is_set() else None
            return bot is not None and bot.processed >= target

        await self.until(handled)

    async def send(self, uid: int, text: str) -> list[str]:
        before = len(self.api.texts(uid))
        self.api.push_text(uid, text)
        await self._handled()
        return self.api.texts(uid)[before:]

    async def press(self, uid: int, label: str) -> list[str]:
        data, message_id = self.api.button(uid, label)
        before = len(self.api.texts(uid))
        self.api.push_button(uid, data, message_id)
        await self._handled()
        return self.api.texts(uid)[before:]

    async def candles(self, n: int) -> None:
        """``n`` new candles on the exchange, each traded by the service before the next."""
        for _ in range(n):
            target = self.service.state.processed + 1
            await self.sim.advance(1)
            await self.until(lambda t=target: self.service.state.processed >= t)

    async def connect(self, uid: int, key: str, secret: str) -> str:
        await self.send(uid, "/connect binance")
        await self.send(uid, key)
        return (await self.send(uid, secret))[-1]

    async def reconcile(self) -> Any:
        loop = self.service.exchange_loop
        assert loop is not None
        async with self.service.lock:
            return await loop.reconciler.run(self.engine, reason="test")


def _sim_orders(sim: SimulatorHandle, account_id: str) -> set[str]:
    sub = sim.exchange.sub(account_id)
    return set(sub.open) | set(sub.done)


def _entry_ids(acct: Any) -> set[str]:
    orders = list(acct.orders.values()) + list(acct.recent_orders)
    return {o.client_id for o in orders if o.role is OrderRole.ENTRY}


def test_investors_trade_through_their_own_keys_across_a_restart(tmp_path: Path) -> None:
    log_path = tmp_path / "rampart.log"
    configure_logging("info", "json", log_path)
    now = datetime.now(UTC).timestamp() * 1000
    start = (int(now) // MINUTE - HISTORY - 50) * MINUTE
    master_key = generate_key()
    keys: list[str] = []

    async def scenario() -> None:
        async with start_simulator(symbols=["BTC/USDT"], start_ms=start) as sim:
            alice_key, alice_secret = sim.create_account({"USDT": "400"}, account_id="alice-x")
            bob_key, bob_secret = sim.create_account({"USDT": "250"}, account_id="bob-x")
            keys.extend([alice_key, alice_secret, bob_key, bob_secret])
            await sim.advance(HISTORY)
            async with LiveService(tmp_path, sim, master_key, 1) as svc:
                for uid in (ALICE, BOB, CAROL):
                    await svc.send(uid, "/start")
                    await svc.press(uid, "I accept")
                # No paper accounts beside the exchange, and nothing starts without a key.
                assert "not possible here" in (await svc.send(CAROL, "/connect paper"))[-1]
                assert "/connect binance" in (await svc.send(CAROL, "/invest 300"))[-1]
                assert "not possible here" in (await svc.send(CAROL, "/demo"))[-1]
                assert "tg-103" not in svc.engine.accounts

                assert "works and is saved" in await svc.connect(ALICE, alice_key, alice_secret)
                wrong = await svc.connect(BOB, bob_key, "Zz" + bob_secret[2:])
                assert "refused that key" in wrong
                assert "works and is saved" in await svc.connect(BOB, bob_key, bob_secret)

                # The exchange holds 400: investing 300 of it would be resized to 400 by the
                # first reconciliation, so it is refused and nothing starts.
                more = (await svc.send(ALICE, "/invest 300"))[-1]
                assert "holds 400.00 USDT, more than the 300.00 USDT" in more, more
                assert "tg-101" not in svc.engine.accounts
                venue = ccxt_venue(svc.engine.venue)
                assert venue is not None and "tg-101" not in venue.clients
                started = (await svc.send(ALICE, "/invest 400"))[-1]
                assert "Investing 400.00 USDT" in started and "own key" in started, started
                # Bob names more than his account holds: he trades what is there.
                bobs = (await svc.send(BOB, "/invest 300"))[-1]
                assert "Investing 250.00 USDT" in bobs and "less than the 300.00 USDT" in bobs, bobs
                assert svc.engine.accounts["tg-101"].ledger.capital == Decimal(400)
                assert svc.engine.accounts["tg-102"].ledger.capital == Decimal(250)
                assert set(venue.clients) == {"tg-101", "tg-102"}
                assert venue.clients["tg-101"].apiKey == alice_key
                assert venue.clients["tg-102"].apiKey == bob_key
                assert "testnet mode" in (await svc.send(ALICE, "/mode live"))[-1]

                # An order the engine places for Alice lands on her key's account only.
                await svc.send(ALICE, "/vibe long BTC, tight stop, 2% target")
                # The answer, and perhaps (the outbox sends it) the notice of the fill.
                answers = await svc.press(ALICE, "Confirm")
                placed = next((t for t in answers if "Bought" not in t), "")
                assert "Order placed" in placed, answers
                await svc.candles(2)
                alice = svc.engine.accounts["tg-101"]
                entries = _entry_ids(alice)
                assert entries and entries <= _sim_orders(sim, "alice-x")
                assert not entries & _sim_orders(sim, "bob-x")
                assert _sim_orders(sim, "bob-x") == set()
                held = sim.state()["accounts"]["alice-x"]["balances"]["BTC"]
                position = alice.ledger.positions["BTC/USDT"]
                assert position.qty == Decimal(held["free"]) + Decimal(held["locked"]) > 0
                stops = {o.client_id for o in alice.orders.values() if o.is_open}
                assert stops and stops <= set(sim.exchange.sub("alice-x").open)

                # Reconciliation covers investor accounts, through their own clients.
                report = await svc.reconcile()
                assert {"tg-101", "tg-102"} <= set(report.accounts)
                assert report.matches, report.differences

                refused = (await svc.send(ALICE, "/disconnect"))[-1]
                assert "open position" in refused and "tg-101" in svc.engine.accounts
                assert "tg-101" in venue.clients
                await svc.candles(1)

            # A restart: the clients come back before the accounts, the checkpoint after.
            async with LiveService(tmp_path, sim, master_key, 2) as svc:
                venue = ccxt_venue(svc.engine.venue)
                assert venue is not None and set(venue.clients) == {"tg-101", "tg-102"}
                assert venue.clients["tg-101"].apiKey == alice_key
                alice = svc.engine.accounts["tg-101"]
                assert "BTC/USDT" in alice.ledger.positions
                report = await svc.reconcile()
                assert report.matches, report.differences
                # Alice's account trades again with her key: closing sells her coins there.
                await svc.send(ALICE, "/close all")
                # The answer, and (sent by the outbox, perhaps first) the notice of the exit.
                answers = await svc.press(ALICE, "Confirm")
                assert any("Closing BTC/USDT" in text for text in answers), answers
                await svc.until(lambda: not alice.ledger.positions)
                await svc.candles(2)
                await svc.until(lambda: not any(o.is_open for o in alice.orders.values()))
                btc = sim.state()["accounts"]["alice-x"]["balances"].get("BTC")
                # What a lot could not sell stays as dust: Binance took the buy's fee in BTC.
                dust = alice.ledger.dust.get("BTC/USDT", Decimal(0))
                assert btc is None or Decimal(btc["free"]) + Decimal(btc["locked"]) == dust
                assert dust < Decimal("0.00001")
                assert _sim_orders(sim, "bob-x") == set()
                # Flat now: /disconnect stops the account and forgets the key and client.
                gone = (await svc.send(ALICE, "/disconnect"))[-1]
                assert "forgotten" in gone and "stopped trading" in gone, gone
                assert "tg-101" not in svc.engine.accounts and "tg-101" not in venue.clients
                assert "tg-102" in svc.engine.accounts
                await svc.candles(1)

            # Disconnected accounts stay stopped after another restart; Bob's comes back.
            async with LiveService(tmp_path, sim, master_key, 3) as svc:
                assert "tg-101" not in svc.engine.accounts
                assert "tg-102" in svc.engine.accounts

            # Bob revokes his key on the exchange: the service still starts, without his
            # account (and without a client for it).
            del sim.exchange.keys[bob_key]
            async with LiveService(tmp_path, sim, master_key, 4) as svc:
                venue = ccxt_venue(svc.engine.venue)
                assert venue is not None and "tg-102" not in venue.clients
                assert "tg-102" not in svc.engine.accounts
                assert "/connect binance" in (await svc.send(BOB, "/portfolio"))[-1]

    asyncio.run(scenario())
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for text in keys:
        assert text.encode() not in written


def test_on_a_paper_service_a_key_is_only_checked_and_kept(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with start_simulator(symbols=["BTC/USDT"]) as sim:
            key, secret = sim.create_account({"USDT": "1000"})
            async with TgService(tmp_path, api_url=sim.url) as svc:
                await svc.send(ALICE, "/start")
                await svc.press(ALICE, "I accept")
                await svc.send(ALICE, "/connect binance")
                await svc.send(ALICE, key)
                saved = (await svc.send(ALICE, secret))[-1]
                assert "trades on paper here" in saved, saved
                live = (await svc.send(ALICE, "/mode live"))[-1]
                assert "runs in paper mode" in live, live
                started = (await svc.send(ALICE, "/invest 300"))[-1]
                assert "Investing 300.00 USDT" in started, started
                acct = svc.session.engine.accounts["tg-101"]
                assert acct.ledger.capital == Decimal(300)
                assert ccxt_venue(svc.session.engine.venue) is None  # paper: no client at all
                assert sim.state()["orders"] == 0

    asyncio.run(scenario())


def test_an_investor_client_is_built_like_the_configured_accounts_clients() -> None:
    settings = load_settings(
        mode="testnet",
        venue={
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": "http://127.0.0.1:9",
            "request_timeout_s": 3,
            "rate_limit_ms": 50,
            "credentials": {"ops": {"api_key": "k" * 20, "secret": "s" * 20}},
        },
        accounts=[],
    )
    mine = investor_client(settings, "investor-key", "investor-secret")
    theirs = account_clients(settings, ["ops"])["ops"]
    assert (mine.apiKey, mine.secret) == ("investor-key", "investor-secret")
    assert mine.timeout == theirs.timeout == 3000
    assert mine.rateLimit == theirs.rateLimit == 50
    assert mine.urls["api"] == theirs.urls["api"]
    assert mine.urls["api"]["public"].startswith("http://127.0.0.1:9/")


def test_the_capital_is_the_balance_up_to_what_the_investor_named() -> None:
    d = Decimal
    assert decide_capital(d("250"), d("300"), "USDT", "binance") == d("250")
    # A rounding's worth over the amount is what the investor meant.
    assert decide_capital(d("300.0000012"), d("300"), "USDT", "binance") == d("300.0000012")
    for balance, said in ((d("10000"), "more than the 300.00 USDT"), (d("4"), "at least 10")):
        with pytest.raises(RampartError, match=said):
            decide_capital(balance, d("300"), "USDT", "binance")
