"""Live candles and tickers from an exchange through ccxt: polling, or websocket where offered.

Only CLOSED candles are emitted (a bar whose close time is after the Clock's now is still
forming), each symbol strictly in time order and without duplicates; a round of several
symbols is emitted in time order. After a disconnection the candles missed are backfilled
with ``fetch_ohlcv`` from the last one seen, page by page, so nothing is skipped.

Staleness: a symbol is stale when no candle that should have closed by now has arrived for
``stale_after_s`` (``now − newest close > timeframe + stale_after``). ``on_stale(symbol,
stale)`` is called on every change so the service can put the symbol in the engine's
``stale_symbols`` (the risk engine then refuses entries on it) and take it out again when
data returns.

The websocket path (ccxt.pro ``watch_ohlcv``) is used when asked for and available; a candle
is closed when the exchange starts the next one. When the stream fails, the feed polls and
tries the stream again later (backoff). Reconnects (either path) back off with full jitter.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import structlog

from rampart.clock import Clock
from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.errors import RampartError
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_budget import spending
from rampart.venues.ccxt_errors import CcxtCaller, OnCall, Op
from rampart.venues.ccxt_mapping import num
from rampart.venues.request_budget import RequestBudget
from rampart.venues.retry import Backoff, RetryPolicy

log = structlog.get_logger("rampart.market.ccxt_feed")

StaleCallback = Callable[[str, bool], None]
MAX_PAGES = 1000
"""A runaway guard for one backfill: an exchange repeating a page must not loop forever."""
WS_RETRY_POLICY = RetryPolicy(attempts=1, base_s=2.0, cap_s=300.0)
"""Reconnecting a dropped stream: soon the first time, backing off (full jitter) while it keeps
failing; the feed polls meanwhile, and REST fills what the stream missed."""


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    ts: int


def _check_rows(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list | tuple) for r in rows):
        raise ccxt.BadResponse("the answer is not a list of candles")


def _check_ticker(ticker: Any) -> None:
    if not isinstance(ticker, dict) or num(ticker.get("last")) is None:
        raise ccxt.BadResponse("the answer is not a ticker with a last price")


class CcxtFeed:
    def __init__(
        self,
        client: Any,
        symbols: Sequence[str],
        *,
        clock: Clock,
        timeframe: str = "1m",
        poll_every_s: float = 5.0,
        stale_after_s: float = 120.0,
        on_stale: StaleCallback | None = None,
        since_ms: int | None = None,
        page_limit: int = 500,
        policy: RetryPolicy | None = None,
        use_websocket: bool = False,
        ws_client: Any | None = None,
        on_call: OnCall | None = None,
        rng: random.Random | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        """``since_ms``: the open time of the first candle wanted (default: the last closed
        one when the feed starts). ``budget``: the exchange's request budget at this address,
        shared with the venue's clients; candles are paid from its market lane."""
        self.client = client
        self.symbols = list(dict.fromkeys(symbols))
        self.clock = clock
        self.timeframe = timeframe
        self.tf_ms = timeframe_ms(timeframe)
        self.poll_every_s = poll_every_s
        self.stale_after_ms = int(stale_after_s * 1000)
        self.on_stale = on_stale
        self.page_limit = page_limit
        self.use_websocket = use_websocket
        self.ws_client = ws_client
        self.rng = rng or random.Random()  # noqa: S311 - reconnect backoff jitter, not a secret
        name = str(getattr(client, "id", "exchange"))
        self.caller = CcxtCaller(
            name,
            clock,
            policy or RetryPolicy(attempts=2),
            rng=self.rng,
            on_call=on_call,
            budget=budget,
        )
        self.started_ms = clock.now_ms()
        start = since_ms
        if start is None:
            start = (self.started_ms // self.tf_ms) * self.tf_ms - self.tf_ms
        self._next_ts: dict[str, int] = dict.fromkeys(self.symbols, start)
        """Open time of the next candle wanted per symbol."""
        self.newest_close: dict[str, int] = {}
        self.stale: set[str] = set()
        self.failures = 0
        self.ws_failures = 0
        self._on_ws_state: Callable[[str], None] | None = None
        self._ws_state = ""
        self.gaps = 0
        self.disagreements = 0
        """Answers holding two different rows for one minute (asked again on the next poll)."""
        self._reconnect = Backoff(
            RetryPolicy(attempts=1, base_s=poll_every_s, cap_s=max(60.0, poll_every_s)), self.rng
        )
        self._ws_backoff = Backoff(WS_RETRY_POLICY, self.rng)
        self._ws_retry_at = 0

    # -- staleness ----------------------------------------------------------------------------

    def age_s(self, symbol: str) -> float:
        """Seconds since the newest candle of ``symbol`` closed (since start before any)."""
        newest = self.newest_close.get(symbol, self.started_ms)
        return max(self.clock.now_ms() - newest, 0) / 1000

    def check_staleness(self) -> set[str]:
        now = self.clock.now_ms()
        for symbol in self.symbols:
            newest = self.newest_close.get(symbol, self.started_ms)
            stale = now - newest > self.tf_ms + self.stale_after_ms
            if stale != (symbol in self.stale):
                if stale:
                    self.stale.add(symbol)
                    log.warning("feed_stale", symbol=symbol, age_s=self.age_s(symbol))
                else:
                    self.stale.discard(symbol)
                    log.info("feed_fresh", symbol=symbol)
                if self.on_stale is not None:
                    self.on_stale(symbol, stale)
        return set(self.stale)

    # -- polling ------------------------------------------------------------------------------

    def _candle(self, symbol: str, row: Sequence[Any]) -> Candle | None:
        try:
            ts = int(row[0])
            values = [float(v) for v in row[1:6]]
        except (TypeError, ValueError, IndexError):
            return None
        if len(values) != 5 or not all(math.isfinite(v) for v in values):
            return None
        o, h, low, c, v = values
        return Candle(symbol, ts, o, h, low, c, v, self.tf_ms)

    def accept(self, symbol: str, rows: Sequence[Sequence[Any]]) -> list[Candle]:
        """The closed candles among ``rows`` that come after the last one emitted, in order."""
        now = self.clock.now_ms()
        wanted = self._next_ts[symbol]
        fresh: dict[int, Candle] = {}
        disagree: int | None = None
        for row in rows:
            candle = self._candle(symbol, row)
            if candle is None:
                log.warning("bad_candle_row", symbol=symbol)
                continue
            if candle.ts >= wanted and candle.close_ts <= now:
                earlier = fresh.get(candle.ts)
                if earlier is not None and earlier != candle:
                    disagree = candle.ts if disagree is None else min(disagree, candle.ts)
                fresh[candle.ts] = candle
        if disagree is not None:
            # Two rows for one minute with different prices: neither is known to be the true
            # one. Emit what comes before it and ask again from there on the next poll.
            self.disagreements += 1
            log.warning("candle_rows_disagree", symbol=symbol, ts=disagree)
            fresh = {ts: c for ts, c in fresh.items() if ts < disagree}
        out = [fresh[ts] for ts in sorted(fresh)]
        for candle in out:
            if candle.ts > self._next_ts[symbol]:
                # The exchange has no candles there (a halt): nothing to fetch, but say so.
                self.gaps += 1
                log.warning("candle_gap", symbol=symbol, missing_from=self._next_ts[symbol])
            self._next_ts[symbol] = candle.ts + self.tf_ms
        if out:
            self.newest_close[symbol] = out[-1].close_ts
        return out

    async def backfill(self, symbol: str) -> list[Candle]:
        """Every closed candle from the next one wanted up to now, page by page."""
        out: list[Candle] = []
        for _ in range(MAX_PAGES):
            since = self._next_ts[symbol]
            if since + self.tf_ms > self.clock.now_ms():
                break
            rows = await self.caller.call(
                self.client,
                "fetch_ohlcv",
                Op.READ,
                lambda since=since: self.client.fetch_ohlcv(
                    symbol, self.timeframe, since, self.page_limit
                ),
                check=_check_rows,
                lane=Lane.MARKET,
            )
            got = self.accept(symbol, rows)
            out.extend(got)
            if not got or len(rows) < self.page_limit:
                break
        return out

    async def poll_once(self) -> tuple[list[Candle], bool]:
        """One round over every symbol: the new closed candles in time order, and whether
        every symbol could be fetched."""
        batch: list[Candle] = []
        ok = True
        for symbol in self.symbols:
            try:
                with spending(Lane.MARKET, poll=True):
                    batch.extend(await self.backfill(symbol))
            except RampartError as exc:
                ok = False
                self.failures += 1
                log.warning("feed_fetch_failed", symbol=symbol, error=exc.message)
        self.check_staleness()
        batch.sort(key=lambda c: (c.ts, c.symbol))
        return batch, ok

    async def fetch_ticker(self, symbol: str) -> Ticker:
        ticker = await self.caller.call(
            self.client,
            "fetch_ticker",
            Op.READ,
            lambda: self.client.fetch_ticker(symbol),
            check=_check_ticker,
            lane=Lane.MARKET,
        )
        ts = ticker.get("timestamp")
        return Ticker(
            symbol=symbol,
            last=num(ticker.get("last")) or Decimal(0),
            bid=num(ticker.get("bid")),
            ask=num(ticker.get("ask")),
            ts=int(ts) if isinstance(ts, int | float) else self.clock.now_ms(),
        )

    # -- the stream ---------------------------------------------------------------------------

    @property
    def on_ws_state(self) -> Callable[[str], None] | None:
        """Told ``connected`` when websocket candles flow, ``polling`` when the feed polls
        (the websocket failed or is not offered), ``off`` when it was not asked for, and
        ``connecting`` until the stream is first tried. Told the state at once when set
        (else the gauge reads ``not_used`` through the first minute, while the feed warms
        up before its first candle)."""
        return self._on_ws_state

    @on_ws_state.setter
    def on_ws_state(self, told: Callable[[str], None] | None) -> None:
        self._on_ws_state = told
        if told is not None:
            self._ws_state = self._ws_state or ("connecting" if self.use_websocket else "off")
            told(self._ws_state)

    def _tell_ws(self, state: str) -> None:
        if state != self._ws_state:
            self._ws_state = state
            if self._on_ws_state is not None:
                self._on_ws_state(state)

    async def candles(self) -> AsyncIterator[Candle]:
        """Closed candles, forever: websocket when asked and working, else polling."""
        while True:
            if not self.use_websocket:
                self._tell_ws("off")
            if self._ws_wanted():
                try:
                    async for candle in self._stream():
                        yield candle
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.ws_failures += 1
                    self._tell_ws("polling")
                    delay = self._ws_backoff.next_delay()
                    self._ws_retry_at = self.clock.now_ms() + int(delay * 1000)
                    log.warning(
                        "websocket_failed_polling_instead",
                        error=type(exc).__name__,
                        retry_in_s=round(delay, 1),
                    )
            if self.use_websocket and self._ws_state != "polling" and not self._ws_wanted():
                self._tell_ws("polling")  # asked for, but not offered (or backing off)
            batch, ok = await self.poll_once()
            for candle in batch:
                yield candle
            if ok:
                self._reconnect.reset()
                await self.clock.sleep(self.poll_every_s)
            else:
                await self.clock.sleep(self._reconnect.next_delay())

    def _ws_wanted(self) -> bool:
        return (
            self.use_websocket
            and self.ws_client is not None
            and self.clock.now_ms() >= self._ws_retry_at
            and bool((getattr(self.ws_client, "has", {}) or {}).get("watchOHLCV"))
        )

    async def _stream(self) -> AsyncIterator[Candle]:
        """Websocket candles. Catches up over REST first; raises when the stream fails."""
        batch, _ = await self.poll_once()
        for candle in batch:
            yield candle
        queue: asyncio.Queue[Candle | BaseException] = asyncio.Queue()
        tasks = [asyncio.create_task(self._watch(s, queue)) for s in self.symbols]
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                self._ws_backoff.reset()
                self._tell_ws("connected")
                yield item
                self.check_staleness()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, symbol: str, queue: asyncio.Queue[Candle | BaseException]) -> None:
        forming: list[Any] | None = None
        try:
            while True:
                rows = await self.ws_client.watch_ohlcv(symbol, self.timeframe)
                for row in sorted(rows, key=lambda r: r[0]):
                    if forming is None or row[0] >= forming[0]:
                        if forming is not None and row[0] > forming[0]:
                            # The next bar started: the previous one is final. Any candle
                            # before it not yet emitted (closed between the REST catch-up
                            # and the subscription, or skipped by the stream) comes over
                            # REST first, so the stream never leaves a gap.
                            if forming[0] > self._next_ts[symbol]:
                                for candle in await self.backfill(symbol):
                                    queue.put_nowait(candle)
                            for candle in self.accept(symbol, [forming]):
                                queue.put_nowait(candle)
                        forming = list(row)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            queue.put_nowait(exc)

    async def close(self) -> None:
        for client in (self.client, self.ws_client):
            if client is not None:
                try:
                    await client.close()
                except Exception as exc:  # best effort
                    log.info("feed_client_close_failed", error=type(exc).__name__)
