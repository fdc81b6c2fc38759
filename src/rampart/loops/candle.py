"""The candle loop of ``rampart run`` on a simulated feed (synthetic or replay): trades each
candle in order, paced to ``feed.speed``, and shows the terminal view.

The loop's progress (:class:`LoopState`) is shared with the health sampler and the reconcile
loop, which read how far the engine has got; a restarted loop resumes where the last one
stopped, and a stream restarted after a failure skips what the engine has already seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.loops.session import EngineSession
from rampart.loops.terminal_view import render, status_line
from rampart.observability.metrics import Metrics
from rampart.runtime.business_time import MIN_PACED_STEP_S
from rampart.runtime.supervisor import Beat

VIEW_REFRESH_S = 0.25
IDLE_BEAT_S = 5.0
"""While the engine loop waits for its next candle (a 1m candle polled, a paced paper feed) it
beats this often (real seconds): waiting is the loop turning. Readiness was red for ~25 s of
every minute on 1m polled candles, which beat only when a candle came; a loop stuck
in its work still stops beating."""


@dataclass
class LoopState:
    processed: int = 0
    """Candles traded in this run (not counting the ones replayed to warm up)."""
    index: int = 0
    """Position in the candle stream of the next candle to trade."""
    finished: bool = False
    last_view: float = 0.0
    errors: list[str] = field(default_factory=list)
    resume_at: int = 0
    """Candles already traded before this start (the checkpoint's cursor), still to warm."""
    max_candles: int | None = None
    """Stop the service after this many candles (tests, ``rampart run --candles``)."""

    def take_resume(self) -> int:
        """The checkpoint's cursor, once: whoever warms the engine finishes the resume."""
        cursor, self.resume_at = self.resume_at, 0
        return cursor

    def traded(self, stop: asyncio.Event) -> None:
        """One more candle traded; asks the service to stop at ``max_candles``."""
        self.processed += 1
        if self.max_candles is not None and self.processed >= self.max_candles:
            stop.set()


class CandleLoop:
    """The engine component on a synthetic or replayed feed."""

    def __init__(
        self,
        session: EngineSession,
        stream: Callable[[], Iterator[Candle]],
        *,
        clock: SimClock,
        lock: asyncio.Lock,
        state: LoopState,
        metrics: Metrics,
        console: Console,
        show: bool,
        step_s: float,
    ) -> None:
        self.session = session
        self.stream = stream
        self.clock = clock
        """The engine's clock: set to each traded candle's close."""
        self.lock = lock
        self.state = state
        self.metrics = metrics
        self.console = console
        self.show = show
        self.step_s = step_s
        """Wall seconds between candles at the feed's speed."""
        self._candles: Iterator[Candle] | None = None

    def next_candle(self) -> Candle | None:
        """The next candle to trade; a restarted loop resumes where the last one stopped."""
        state = self.state
        if self._candles is None:
            self._candles = self.stream()
            skip = 0
            while skip < state.index:
                # A stream restarted after a failure: the engine has seen these already.
                next(self._candles)
                skip += 1
            while state.index < state.resume_at:
                self.session.warm(next(self._candles))
                state.index += 1
            if state.take_resume():
                self.session.finish_resume()
        try:
            return next(self._candles)
        except StopIteration:
            return None

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        live = Live(console=self.console, auto_refresh=False) if self.show else None
        last_ts: int | None = None
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        steps = 0
        step_s = self.step_s
        if live is not None:
            live.start()
        try:
            while not stop.is_set():
                candle = self.next_candle()
                if candle is None:
                    self.state.finished = True
                    self.console.print("The feed has no more candles.")
                    stop.set()
                    break
                if last_ts is not None and candle.ts != last_ts:
                    # Paced to feed.speed on a fixed schedule, as a live feed would deliver:
                    # an engine slower than the feed falls behind, and that is the event lag.
                    steps += 1
                    due = t0 + steps * step_s
                    while not stop.is_set() and (left := due - loop.time()) > 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), min(left, IDLE_BEAT_S))
                        beat()
                    if step_s >= MIN_PACED_STEP_S:
                        self.metrics.event_lag(max(int((loop.time() - due) / step_s), 0))
                    if stop.is_set():
                        self._candles = None  # the unprocessed candle is replayed on restart
                        break
                last_ts = candle.ts
                # Counted before trading it: a candle that fails half-way is not traded twice.
                self.state.index += 1
                started = time.perf_counter()
                async with self.lock:
                    self.clock.set(max(self.clock.now_ms(), candle.close_ts))
                    await self.session.process(candle)
                self.metrics.signal_latency(time.perf_counter() - started)
                self.state.traded(stop)
                beat()
                self._refresh_view(live)
        except BaseException:
            self._candles = None
            raise
        finally:
            if live is not None:
                live.stop()

    def _refresh_view(self, live: Live | None) -> None:
        wall = time.monotonic()
        if wall - self.state.last_view < VIEW_REFRESH_S:
            return
        self.state.last_view = wall
        engine = self.session.engine
        if live is not None:
            live.update(render(engine, "Rampart · paper"), refresh=True)
        elif self.state.processed % 200 == 0:
            self.console.print(status_line(engine))
