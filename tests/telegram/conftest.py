"""A real service for the bot tests: a TradingSession on simulated time, the Operator facade,
the real python-telegram-bot Application long-polling a local Bot API stand-in.

Each test runs one coroutine (``asyncio.run``) holding everything on one loop. ``send`` queues
an update and waits, with a short bounded poll on the real socket round trip, until the bot
has handled it and its answers were sent; candles are processed under the operator lock as the
service's loop does.

The stand-in keeps Telegram's flood limits on the clock the bot paces its messages on (``pace``):
a :class:`SimClock` by default, which moves on at once when the bot's limiter sleeps, or a
:class:`DrivenClock` that moves only when the test moves it — and as far as the bot's limiter
waits to send its next message (a keeper task moves it there), so a reply or an alert is never
stuck behind time nobody moves, while a notice the outbox holds back waits for the test.
"""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

from rampart.clock import Clock, SimClock
from rampart.config import load_settings
from rampart.market.synthetic import SyntheticFeed
from rampart.observability.logging import configure_logging
from rampart.operator import investors as inv_store
from rampart.operator.control import Operator
from rampart.rollout.desk import serve_desk
from rampart.runtime.health import Health
from rampart.security.secrets import generate_key
from rampart.telegram import sender
from rampart.telegram.bot import RampartBot, build_bot
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import TradingSession
from rampart_testkit.botapi.shapes import TOKEN
from rampart_testkit.botapi.standin import FakeBotApi

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
OPERATOR = 900
ALICE = 101
BOB = 102


class DrivenClock(SimClock):
    """Simulated time whose ``sleep`` waits until the test moves the time on, so a per-chat gap
    or a 429's ``retry_after`` is observable (nothing is sent before the test advances past it)
    and costs no wall time."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        super().__init__(start_ms)
        self._moved = asyncio.Event()

    def set(self, ms: int) -> None:
        super().set(ms)
        self._moved.set()

    async def sleep(self, seconds: float) -> None:
        target = self.now_ms() + int(seconds * 1000)
        while self.now_ms() < target:
            self._moved.clear()
            await self._moved.wait()
        await asyncio.sleep(0)


class TgService:
    def __init__(
        self,
        tmp_path: Path,
        *,
        rate: int = 1000,
        api_url: str | None = None,
        telegram: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        operator_wrote: bool = True,
        limits: bool = True,
        pace: Clock | None = None,
    ) -> None:
        self.tmp_path = tmp_path
        self.db_path = tmp_path / "rampart.db"
        self.log_path = tmp_path / "rampart.log"
        venue: dict[str, Any] = {"api_url": api_url} if api_url else {}
        self.settings = load_settings(
            store={"url": f"sqlite:///{self.db_path}", "checkpoint_every": 10**6},
            feed={"symbols": SYMBOLS},
            accounts=[],
            telegram_token=TOKEN,
            master_key=generate_key(),
            telegram={
                "operator_ids": [OPERATOR],
                "operator_chat_id": OPERATOR,
                "rate_per_minute": rate,
                "poll_timeout_s": 1,
                **(telegram or {}),
            },
            venue=venue,
            **(extra or {}),
        )
        self.clock = SimClock(0)
        self.ops = SimClock(1_700_000_000_000)
        self.pace: Clock = pace or self.ops
        """The clock the bot paces its messages on (and the stand-in counts its limits on)."""
        self.api = FakeBotApi()
        # Telegram's flood limits, counted on the clock the bot paces on.
        self.api.limits = limits
        self.api.stamp = lambda: self.pace.now_ms() / 1000
        if operator_wrote:
            # The operator /start-ed the bot before the service began, as the docs ask
            # (Telegram refuses messages to a private chat that never wrote to the bot).
            self.api.meet(OPERATOR)
        self.events: list[Any] = []

    async def __aenter__(self) -> TgService:
        configure_logging("info", "json", self.log_path)
        await self.api.start()
        s = self.settings
        self.session = TradingSession(
            s,
            self.clock,
            instruments_for(SYMBOLS),
            db_url=s.store.url,
            checkpoint_name="run",
            accounts=[],
            checkpoint_every=s.store.checkpoint_every,
        )
        await self.session.open()
        self.session.finish_resume()
        self.session.bus.subscribe(self.events.append)
        self.candles = SyntheticFeed(SYMBOLS, seed=s.feed.seed, timeframe="1m").iter_candles()
        await self.start_bot(SYMBOLS)
        await self.trade(60)
        return self

    async def start_bot(self, feed_symbols: list[str]) -> None:
        """The operator, health and the bot on the open session, as the service starts them;
        back once the bot has asked the fake Bot API for updates (or set its webhook)."""
        self.lock = asyncio.Lock()
        self.operator = Operator(self.session, self.lock, feed_symbols=feed_symbols)
        serve_desk(self.operator)  # as the composition root does
        self.health = Health()
        self.bot: RampartBot = build_bot(
            self.settings,
            self.operator,
            self.lock,
            clock=self.ops,
            pace=self.pace,
            base_url=self.api.url,
            health=self.health,
        )
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.bot.run(self.stop, lambda: None))
        if isinstance(self.pace, DrivenClock):
            self.keeper = asyncio.create_task(self._keep_time())
        ready = "setWebhook" if self.settings.telegram.mode == "webhook" else "getUpdates"
        await self.until(lambda: any(m == ready for m, _ in self.api.calls))

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=30)
        keeper = getattr(self, "keeper", None)
        if keeper is not None:
            keeper.cancel()
        self.session.close()
        await self.api.close()

    async def until(self, done: Any, limit_s: float = 20.0) -> None:
        for _ in range(int(limit_s / 0.01)):
            if done():
                return
            if self.task.done():
                self.task.result()
                raise AssertionError("the bot stopped")
            await asyncio.sleep(0.01)
        raise AssertionError("the bot did not answer in time")

    async def until_quiet(self, limit_s: float = 60.0) -> None:
        """Until the bot can send nothing more of its own accord: every kept command handled,
        every kept reply sent (a reply is kept before it joins the pacer, so none is on its way
        unseen), the pacer empty and what the start resumed done. A check that nothing came
        twice is then a verdict, not a guess that a fixed wait was long enough."""
        book, pacer = self.bot.book, self.bot.pacer
        assert book is not None, "the bot keeps no commands (no store)"

        def quiet() -> bool:
            return (
                (pacer is None or pacer.queued() == 0)
                and all(task.done() for task in self.bot.resumed)
                and not book.unhandled()
                and not book.unsent()
            )

        await self.until(quiet, limit_s)

    async def _keep_time(self) -> None:
        """On a driven pace: move it on to when the limiter sends its next message."""
        pacer = self.bot.pacer
        assert isinstance(self.pace, DrivenClock) and pacer is not None
        while True:
            due = pacer.next_due_ms()
            if due is not None and due > self.pace.now_ms():
                self.pace.set(due)
            await asyncio.sleep(0.005)

    async def send(self, uid: int, text: str) -> list[str]:
        """Send ``text`` as ``uid`` and return what the bot sent that user in answer."""
        before = len(self.api.texts(uid))
        self.api.push_text(uid, text)
        target = len(self.api.updates)
        await self.until(lambda: self.bot.processed >= target)
        return self.api.texts(uid)[before:]

    async def press(self, uid: int, label: str) -> list[str]:
        data, message_id = self.api.button(uid, label)
        before = len(self.api.texts(uid))
        self.api.push_button(uid, data, message_id)
        target = len(self.api.updates)
        await self.until(lambda: self.bot.processed >= target)
        return self.api.texts(uid)[before:]

    async def trade(self, n: int) -> None:
        """Process ``n`` more candles, then save them to the store (as a checkpoint would)."""
        for candle in itertools.islice(self.candles, n):
            self.clock.set(candle.close_ts)
            async with self.lock:
                await self.session.process(candle)
        self.session.checkpoint()

    async def register(
        self, ids: list[int], profile: str = "aggressive", capital: Decimal = Decimal(5000)
    ) -> None:
        """Paper investors with a running account each (what /start … /invest leave), without
        the messages: each has written to the bot, so Telegram lets it answer them."""
        for uid in ids:
            self.api.meet(uid)
            inv = inv_store.Investor(
                uid,
                inv_store.account_id_for(uid),
                accepted_disclaimer=True,
                profile=profile,
                capital=capital,
                mode="paper",
            )
            await sender.start_account(self.bot, inv)
            await inv_store.save(self.session.db, inv)
            # … and the terms they accepted on the way (/start's "I accept").
            version = (await self.operator.terms_status(inv.account_id)).version
            await self.operator.accept_terms(inv.account_id, inv_store.owner_for(uid), version)

    async def onboard(self, uid: int, profile: str = "moderate", amount: str = "300") -> None:
        await self.send(uid, "/start")
        await self.press(uid, "I accept")
        await self.send(uid, "/connect paper")
        await self.send(uid, f"/risk {profile}")
        await self.send(uid, f"/invest {amount}")
