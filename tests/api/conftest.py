"""A real service for the API tests: a TradingSession on simulated time, its candles processed
under the operator lock, and the API served by uvicorn on 127.0.0.1 port 0.

The session and the server share one event loop, run by the fixture in a background thread
(pytest here has no asyncio plugin, and schemathesis calls the server synchronously). Tests
speak HTTP with a plain httpx client and run engine-side steps on that loop with ``call``, so
the engine is only ever touched from its own loop. Time is two SimClocks: the business clock
the candles set, and the ops clock that rate limits, token caching and the feed probe read.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from rampart.api.app import create_app
from rampart.api.context import ApiContext
from rampart.api.server import ApiServer
from rampart.clock import SimClock
from rampart.config import AccountConfig, Settings, load_settings
from rampart.domain.orders import OrderRole
from rampart.market.synthetic import SyntheticFeed
from rampart.observability.metrics import Metrics
from rampart.operator.control import Operator
from rampart.rollout.desk import serve_desk
from rampart.runtime import probes
from rampart.runtime.health import Health
from rampart.security.tokens import create_token
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import TradingSession

T = TypeVar("T")

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
ACCOUNTS = [
    AccountConfig(id="alice", agent="trend", profile="aggressive", symbols=SYMBOLS, owner="alice"),
    AccountConfig(
        id="bob", agent="mean_reversion", profile="moderate", symbols=SYMBOLS, owner="bob"
    ),
    AccountConfig(id="carol", agent="breakout", profile="aggressive", symbols=SYMBOLS),
]
FEED_MAX_AGE_S = 60
WARM_CANDLES = 1200
"""Candles (both symbols) traded before the server starts: enough for trades, open positions
and rejections in every account."""


class LiveApi:
    def __init__(
        self,
        tmp_path: Path,
        *,
        rate_per_minute: int = 600,
        with_alerts: bool = False,
        api: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        self.tmp_path = tmp_path
        self.with_alerts = with_alerts
        self.db_path = tmp_path / "rampart.db"
        self.settings: Settings = load_settings(
            store={"url": f"sqlite:///{self.db_path}", "checkpoint_every": 10**6},
            api={"port": 0, "rate_per_minute": rate_per_minute, **(api or {})},
            feed={"symbols": SYMBOLS},
            accounts=[a.model_dump() for a in ACCOUNTS],
            **overrides,
        )
        self.clock = SimClock(0)
        self.ops = SimClock(1_700_000_000_000)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="api-loop", daemon=True)
        self.tokens: dict[str, str] = {}

    # -- running things on the service loop ----------------------------------------------------

    def call(self, work: Awaitable[T] | Callable[[], T]) -> T:
        """Run a coroutine, or a plain function, on the service loop and return its result."""

        async def run() -> T:
            if callable(work):
                return work()  # type: ignore[return-value]
            return await work

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=60)

    def start(self, warm: int = WARM_CANDLES) -> LiveApi:
        self._thread.start()
        self.call(self._open(warm))
        self.client = httpx.Client(base_url=self.server.url, timeout=30)
        db = self.session.db
        self.tokens["admin"] = create_token(db, "admin", None, "ops", self.ops.now_ms())
        for acct in ACCOUNTS:
            self.tokens[acct.id] = create_token(db, "user", acct.id, acct.id, self.ops.now_ms())
        return self

    async def _open(self, warm: int) -> None:
        s = self.settings
        self.session = TradingSession(
            s,
            self.clock,
            instruments_for(SYMBOLS),
            db_url=s.store.url,
            checkpoint_name="run",
            accounts=list(s.accounts),
            checkpoint_every=s.store.checkpoint_every,
        )
        await self.session.open()
        self.session.finish_resume()
        self.candles = SyntheticFeed(SYMBOLS, seed=s.feed.seed, timeframe="1m").iter_candles()
        self.health = Health()
        self.health.add("database", probes.database_probe(lambda: self.session.db))
        self.health.add("venue", probes.venue_probe(self.session.venue))
        self.health.add("feed", probes.feed_probe(self.session.engine, self.ops, FEED_MAX_AGE_S))
        self.metrics = Metrics()
        self.session.bus.subscribe(self.metrics.on_event)
        alerts = None
        if self.with_alerts:
            from rampart.observability.alerts.build import build_alerting

            alerts = build_alerting(s, self.session.db, self.metrics, self.ops)
        operator = Operator(self.session, asyncio.Lock(), feed_symbols=SYMBOLS)
        serve_desk(operator)  # as the composition root does
        self.ctx = ApiContext.build(s, operator, self.ops, self.health, self.metrics, alerts=alerts)
        await self._trade(warm)
        self.session.checkpoint()
        self.server = ApiServer(create_app(self.ctx), "127.0.0.1", 0)
        self.stop_event = asyncio.Event()
        self._serving = asyncio.create_task(self.server.serve(self.stop_event))
        await self.server.started.wait()

    async def _trade(self, n: int) -> None:
        for candle in itertools.islice(self.candles, n):
            self.clock.set(candle.close_ts)
            # As the service's candle loop does: never interleave with an operator command.
            async with self.ctx.lock:
                await self.session.process(candle)

    def trade(self, n: int, checkpoint: bool = True) -> None:
        """Process ``n`` more candles, then save them to the store (as a checkpoint would)."""
        self.call(self._trade(n))
        if checkpoint:
            self.call(self.session.checkpoint)

    @property
    def engine(self) -> Any:
        return self.session.engine

    def seqs(self) -> dict[str, int]:
        """Each account's order sequence number now (to find the entries placed after it)."""
        return {a: acct.seq for a, acct in self.engine.accounts.items()}

    def entries_after(self, seqs: dict[str, int]) -> list[Any]:
        """Entry orders the accounts placed after ``seqs`` (client ids carry the sequence)."""
        return [
            o
            for acct in self.engine.accounts.values()
            for o in acct.recent_orders
            if o.role is OrderRole.ENTRY and int(o.client_id.split("-")[2]) > seqs[acct.account_id]
        ]

    # -- HTTP ----------------------------------------------------------------------------------

    def headers(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens.get(who, who)}"}

    def get(self, path: str, who: str | None = "admin", **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(who), **kw)

    def post(
        self, path: str, body: Any = None, who: str | None = "admin", **kw: Any
    ) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(who), **kw)

    # -- teardown ------------------------------------------------------------------------------

    async def _close(self) -> None:
        self.stop_event.set()
        await self._serving
        self.session.close()

    def stop(self) -> None:
        if hasattr(self, "client"):
            self.client.close()
        if hasattr(self, "_serving"):
            self.call(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApi]:
    api = LiveApi(tmp_path)
    try:
        yield api.start()
    finally:
        api.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """One service for read-only tests in a module (they must not change its state)."""
    api = LiveApi(tmp_path_factory.mktemp("shared"))
    try:
        yield api.start()
    finally:
        api.stop()


@pytest.fixture
def make_live(tmp_path: Path) -> Iterator[Callable[..., LiveApi]]:
    """A service with custom settings, e.g. ``make_live(rate_per_minute=5)``."""
    made: list[LiveApi] = []

    def make(warm: int = WARM_CANDLES, **kw: Any) -> LiveApi:
        api = LiveApi(tmp_path / f"svc{len(made)}", **kw)
        (tmp_path / f"svc{len(made)}").mkdir()
        made.append(api)
        return api.start(warm)

    try:
        yield make
    finally:
        for api in made:
            api.stop()
