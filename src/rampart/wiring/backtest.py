"""One research trial: a setting traded over a span of candles by a real trading session.

The same :class:`~rampart.wiring.session.TradingSession` as ``rampart replay`` and ``rampart
run`` — engine, risk engine, brackets, breakers and the paper venue with its fees and slippage
— on a database in memory that the trial throws away. Research always trades on paper: the
settings' venue is replaced by the paper venue with the configured fees and slippage, and a
venue without fees or slippage is refused (a search without costs finds settings that only
churn).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from rampart.clock import SimClock
from rampart.config import AccountConfig, Settings
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    Event,
    IntentRejected,
    OrderUpdated,
    TradeClosed,
)
from rampart.domain.instruments import Instrument
from rampart.research.trial import BacktestResult, Point, Report, Span
from rampart.trading.bus import TOPICS
from rampart.trading.shaping import RunShaping
from rampart.wiring.replay_informative import feeder
from rampart.wiring.session import TradingSession

ACCOUNT = "research"
IN_MEMORY = "sqlite://"


SHAPING = (IntentRejected, BreakerTripped, AccountStateChanged)
"""The events a trial keeps for its trial table's "shaped_by" (trading.shaping)."""


def research_settings(settings: Settings) -> Settings:
    """The settings a trial trades with: paper venue and mode, the configured costs kept.

    Refuses, in one sentence, costs turned off."""
    venue = settings.venue
    if venue.taker_fee <= 0 or venue.maker_fee <= 0:
        raise ConfigError(
            "Research trades with fees on: venue.maker_fee and venue.taker_fee must be above 0 "
            f"(they are {venue.maker_fee} and {venue.taker_fee})."
        )
    if venue.slippage_bps <= 0:
        raise ConfigError(
            "Research trades with slippage on: venue.slippage_bps must be above 0 "
            f"(it is {venue.slippage_bps})."
        )
    paper = venue.model_copy(update={"kind": "paper"})
    llm = settings.llm.model_copy(update={"enabled": False})
    return settings.model_copy(update={"mode": "paper", "venue": paper, "llm": llm})


class EngineBacktest:
    """Trades one agent on one symbol's candles; each call is one trial, independent of the
    ones before (a fresh session, clock and agent)."""

    def __init__(
        self,
        settings: Settings,
        agent: str,
        profile: str,
        capital: Decimal,
        candles: Sequence[Candle],
        instrument: Instrument,
        period_ms: int,
        others: Sequence[Candle] = (),
    ) -> None:
        self.settings = research_settings(settings)
        self.others = others
        """Other symbols' bars for an agent declaring them informative, fed to the
        engine's series book as each closes, as ``rampart replay`` feeds them."""
        self.agent = agent
        self.profile = profile
        self.capital = capital
        self.candles = candles
        self.instrument = instrument
        self.period_ms = period_ms
        self._db: Any = None
        self._db_pid = 0
        self._admitted: dict[tuple[int, int], list[tuple[Candle, ...]]] = {}
        """Per span (warm_from, end): what the price guard admitted at each candle in the
        first trial to finish it. The guard reads only the candles (its state starts fresh
        in each trial's session and the engine never feeds back into it), so every later
        trial on that span gets the same answers without asking it again."""

    def _database(self) -> Any:
        """The in-memory database this process's trials share. A trial writes nothing to it
        (its rows stay in the writer's buffer, which :meth:`TradingSession.discard` drops), so
        each trial opens on the same empty schema; made once per process (a forked worker
        makes its own rather than share the parent's SQLite connection)."""
        from rampart.store.db import open_database

        if self._db is None or self._db_pid != os.getpid():
            self._db = open_database(IN_MEMORY)
            self._db_pid = os.getpid()
        return self._db

    def __call__(
        self,
        params: Mapping[str, Any],
        span: Span,
        report: Report | None = None,
        steps: int = 0,
    ) -> BacktestResult:
        if span.end > len(self.candles):
            raise ValueError(f"{span} runs past the {len(self.candles)} candles")
        return asyncio.run(self._run(dict(params), span, report, steps))

    def _session(self, params: dict[str, Any], clock: SimClock) -> TradingSession:
        """A trial's session: one account with ``params``, on a store that is never written."""
        symbol = self.instrument.symbol
        account = AccountConfig(
            id=ACCOUNT,
            agent=self.agent,
            profile=self.profile,
            capital=self.capital,
            symbols=[symbol],
            owner="research",
            params=params,
        )
        return TradingSession(
            self.settings,
            clock,
            {symbol: self.instrument},
            db_url=IN_MEMORY,
            db=self._database(),
            checkpoint_name="research",
            accounts=[account],
            checkpoint_every=None,  # a trial's store is never written
            ride_out_outages=False,
        )

    def _warm(
        self,
        session: TradingSession,
        span: Span,
        feed: Callable[[int], None] | None,
        known: Sequence[tuple[Candle, ...]] | None,
        seen: list[tuple[Candle, ...]],
    ) -> None:
        """Feed the span's warm-up candles to the agents only: with the guard's verdicts the
        span's first trial recorded (``known``), or recording them into ``seen``."""
        candles = self.candles
        for index in range(span.warm_from, span.start):
            candle = candles[index]
            if feed is not None:
                feed(candle.close_ts)
            given = None if known is None else known[index - span.warm_from]
            admitted = session.warm(candle, given)
            if known is None:
                seen.append(admitted)

    async def _run(
        self, params: dict[str, Any], span: Span, report: Report | None, steps: int
    ) -> BacktestResult:
        clock = SimClock(0)
        session = self._session(params, clock)
        trades = 0
        shaping = RunShaping()

        def count(event: Event) -> None:
            nonlocal trades
            if isinstance(event, TradeClosed):
                trades += 1
            elif isinstance(event, SHAPING):
                shaping(event)

        session.engine.plots.only_when_asked()  # nothing draws a trial's lines: never read
        session.engine.tells_protection = False  # nor alerts on its positions' protection
        await session.open()
        try:
            # Only the topics of the events it counts (no order or equity event reaches it).
            session.bus.subscribe(count, {TOPICS[kind] for kind in (TradeClosed, *SHAPING)})
            # Decided once: an order's events are built only if something takes them (an agent
            # hearing its fills does; the count above does not).
            session.engine.executor.publishes_orders = session.bus.hears(OrderUpdated)
            engine = session.engine
            # Every trial of a span sees the same candles, so the guard's verdicts of the first
            # are handed to the session for the others (it then asks the guard nothing).
            candles = self.candles
            key = (span.warm_from, span.end)
            known = self._admitted.get(key)
            seen: list[tuple[Candle, ...]] = []
            feed = feeder(self.others, engine.series) if self.others else None
            self._warm(session, span, feed, known, seen)
            period = self.period_ms
            capital = float(self.capital)
            first_ts = candles[span.start].close_ts
            curve: list[Point] = [(first_ts - 1, capital)]
            bucket = first_ts // period
            last: Point = curve[0]
            peak, drawdown = capital, 0.0
            every = span.traded // steps if report is not None and steps > 0 else 0
            stopped = False
            done = 0
            # The account looked up once (engine.equity's lookup on every candle otherwise).
            runtime = engine.accounts[ACCOUNT]
            for index in range(span.start, span.end):
                candle = candles[index]
                ts = candle.close_ts  # asked once: the clock, the informative feed, the curve
                clock.set(ts)
                if feed is not None:
                    feed(ts)
                given = None if known is None else known[index - span.warm_from]
                admitted = await session.process(candle, admitted=given)
                if known is None:
                    seen.append(admitted)
                # The guard's equity where nothing followed it (Engine.calm).
                equity = float(
                    runtime.breakers.last_equity
                    if engine.calm is candle
                    else runtime.ledger.equity(engine.marks)
                )
                if ts // period != bucket:
                    curve.append(last)
                    bucket = ts // period
                last = (ts, equity)
                if equity > peak:
                    peak = equity
                elif peak > 0 and (peak - equity) / peak > drawdown:
                    drawdown = (peak - equity) / peak
                done += 1
                due = every and report is not None and done % every == 0 and done < span.traded
                if (
                    due
                    and report is not None
                    and report(done // every, [*curve, last], drawdown, trades)
                ):
                    stopped = True
                    break
            if known is None and not stopped:
                self._admitted[key] = seen
            await engine.controls.flatten_all("end of the span")
            final = float(engine.equity(ACCOUNT))
            curve.append((last[0], final))
            if peak > 0:
                drawdown = max(drawdown, (peak - final) / peak)
            fees = float(engine.accounts[ACCOUNT].ledger.fees_paid)
        finally:
            # Nothing is written: a trial's store is thrown away (no final checkpoint).
            session.discard()
        return BacktestResult(
            curve=tuple(curve),
            max_drawdown=drawdown,
            trades=trades,
            fees=fees,
            capital=capital,
            final=final,
            candles=done,
            stopped=stopped,
            shaped=shaping.line(),
        )
