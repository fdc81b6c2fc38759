"""Informative series: other symbols and higher timeframes in an agent's view.

An agent declares what else it reads as a class attribute, Freqtrade's ``informative_pairs``
in one line::

    informative = (("ETH/BTC", "1h"), ("4h"))   # another symbol's hourly bars, its own 4h bars

An entry is ``(symbol, timeframe)`` or a timeframe alone (the agent's own symbol). Its view's
``series(symbol, timeframe)`` (or ``series(timeframe)``) is then a tuple of that series' bars,
oldest first, **closed ones only**: an hourly bar appears once its hour has ended, never while
it forms. The engine has one timeframe per feed, so a higher timeframe is resampled here from
the base candles as they come; the same :class:`SeriesBook` feeds the engine's views (replay,
paper, live, workers) and the research checks' (``rampart.research.signals``), so an agent
sees the same bars everywhere.

Pure: no I/O and no clock; "now" is the decision time the caller hands in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from rampart.domain.candles import TIMEFRAME_MS, Candle, timeframe_ms
from rampart.domain.errors import ConfigError

SeriesKey = tuple[str, str]
"""(symbol, timeframe text), as a view's ``informative`` mapping is keyed."""
NO_SERIES: Mapping[SeriesKey, Sequence[Candle]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Informative:
    """One declared series: ``symbol`` None means the agent's own."""

    symbol: str | None
    timeframe: str

    @property
    def tf_ms(self) -> int:
        return TIMEFRAME_MS[self.timeframe]

    def key(self, own: str) -> SeriesKey:
        return (self.symbol or own, self.timeframe)


def declared(agent: object) -> tuple[Informative, ...]:
    """The series ``agent`` declares in ``informative``, checked; a wrong entry is refused in
    one sentence naming the agent."""
    raw = getattr(agent, "informative", ())
    name = getattr(agent, "name", type(agent).__name__)
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        raw = (raw,)
    out: list[Informative] = []
    for entry in raw:
        if isinstance(entry, Informative):
            item = entry
        elif isinstance(entry, str):
            item = Informative(None, entry)
        elif (
            isinstance(entry, tuple | list)
            and len(entry) == 2
            and all(isinstance(part, str) for part in entry)
        ):
            item = Informative(entry[0] or None, entry[1])
        else:
            raise ConfigError(
                f"Agent {name!r} declares informative entry {entry!r}: write "
                '("SYMBOL", "TIMEFRAME") or a timeframe like "1h" for its own symbol.'
            )
        try:
            timeframe_ms(item.timeframe)
        except ValueError as exc:
            raise ConfigError(
                f"Agent {name!r} declares an informative series with {exc}."
            ) from None
        if item not in out:
            out.append(item)
    return tuple(out)


def bars_for(series_bars: int, timeframe: str, base: str) -> int:
    """Base bars an agent on ``base`` candles waits for ``series_bars`` closed bars of
    ``timeframe``: one bucket more than the plain ratio, since the first bucket it sees may
    have started before its first candle (the warm-up derived for a series)."""
    ratio = -(-timeframe_ms(timeframe) // timeframe_ms(base))
    return (series_bars + 1) * ratio


class _Resampler:
    """Base candles of one symbol into closed bars of one longer timeframe."""

    __slots__ = ("_close", "_high", "_last", "_low", "_open", "_start", "_volume", "bars", "tf")

    def __init__(self, tf: int, keep: int) -> None:
        self.tf = tf
        self.bars: deque[Candle] = deque(maxlen=keep)
        self._start: int | None = None  # the forming bucket's open time
        self._last = -1  # the last base candle's open time (repeats and older ones ignored)
        self._open = self._high = self._low = self._close = self._volume = 0.0

    def feed(self, candle: Candle, symbol: str) -> None:
        if candle.ts <= self._last or candle.timeframe_ms > self.tf:
            # A repeat after a reconnect, an older bar, or a feed coarser than the series:
            # longer bars cannot be cut into shorter ones, so that series stays empty.
            return
        self._last = candle.ts
        start = candle.ts - candle.ts % self.tf
        if self._start is not None and start != self._start:
            self._emit(symbol)  # a gap ran past the end of the bucket: it closed all the same
        if self._start is None:
            self._start = start
            self._open, self._high, self._low = candle.open, candle.high, candle.low
            self._volume = 0.0
        else:
            self._high = max(self._high, candle.high)
            self._low = min(self._low, candle.low)
        self._close = candle.close
        self._volume += candle.volume
        if candle.ts + candle.timeframe_ms >= start + self.tf:
            self._emit(symbol)  # the base bar closing the bucket closes it too

    def _emit(self, symbol: str) -> None:
        start = self._start
        if start is None:
            return
        self.bars.append(
            Candle(
                symbol,
                start,
                self._open,
                self._high,
                self._low,
                self._close,
                self._volume,
                self.tf,
            )
        )
        self._start = None


class SeriesBook:
    """Every informative series wanted, kept up to date from the base candles fed to it."""

    def __init__(self, keep: int = 300) -> None:
        self.keep = keep
        self._by_symbol: dict[str, dict[int, _Resampler]] = {}
        self._shown: dict[tuple[str, int, int], tuple[Candle, ...]] = {}
        """Series already copied for a decision time: every account asked on a candle shares
        one tuple (emptied whenever a bar is fed)."""
        self.wanted = False
        """Whether any series is wanted (read on every candle: a field, not a call)."""

    def symbols(self) -> set[str]:
        return set(self._by_symbol)

    def want(self, symbol: str, timeframe: str, keep: int | None = None) -> None:
        tf = timeframe_ms(timeframe)
        own = self._by_symbol.setdefault(symbol, {})
        self.wanted = True
        if tf not in own:
            own[tf] = _Resampler(tf, max(keep or 0, self.keep))

    def want_all(self, specs: Sequence[Informative], own: str) -> None:
        for spec in specs:
            self.want(spec.symbol or own, spec.timeframe)

    def feed(self, candle: Candle) -> None:
        wanted = self._by_symbol.get(candle.symbol)
        if wanted:
            self._shown.clear()
            for resampler in wanted.values():
                resampler.feed(candle, candle.symbol)

    def closed(self, symbol: str, timeframe: str, now: int) -> tuple[Candle, ...]:
        """The series' bars closed by ``now``, oldest first."""
        tf = timeframe_ms(timeframe)
        key = (symbol, tf, now)
        shown = self._shown.get(key)
        if shown is not None:
            return shown
        resampler = self._by_symbol.get(symbol, {}).get(tf)
        if resampler is None:
            return ()
        bars = resampler.bars
        if not bars or bars[-1].ts + bars[-1].timeframe_ms <= now:
            shown = tuple(bars)
        else:
            # Fed ahead of the decision (another symbol's bar of the same instant, in
            # research): what closes after now is not shown.
            shown = tuple(bar for bar in bars if bar.ts + bar.timeframe_ms <= now)
        if len(self._shown) >= 1_024:  # a feed gone quiet feeds nothing to empty it
            self._shown.clear()
        self._shown[key] = shown
        return shown

    def view(
        self, specs: Sequence[Informative], own: str, now: int
    ) -> Mapping[SeriesKey, Sequence[Candle]]:
        """The read-only mapping a view's ``informative`` holds for an agent on ``own``."""
        if not specs:
            return NO_SERIES
        return MappingProxyType(
            {spec.key(own): self.closed(spec.symbol or own, spec.timeframe, now) for spec in specs}
        )
