"""Other symbols and higher timeframes in a view, closed bars only, in the
research checks as in the engine (one SeriesBook builds both)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

import pytest

from rampart.agents.base import AgentBase, AgentConstraints, AgentView
from rampart.agents.informative import SeriesBook, bars_for, declared
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.research.lookahead import check_lookahead
from rampart.research.signals import Driver

FIVE = 300_000
HOUR = 3_600_000
START = 1_700_000_000_000 - 1_700_000_000_000 % HOUR  # on the hour
LIMITS = AgentConstraints(Decimal("0.005"), Decimal("0.05"), Decimal("1.5"))


def _candles(symbol: str, n: int, base: float = 100.0) -> list[Candle]:
    out = []
    for i in range(n):
        price = base + (i % 17) - (i % 5) * 0.5
        out.append(
            Candle(symbol, START + i * FIVE, price, price + 1, price - 1, price + 0.25, 1.0, FIVE)
        )
    return out


class Seen(AgentBase):
    """Records what its views held (an honest agent: it reads only its view)."""

    name = "seen"
    warmup = 0
    informative = ("1h", ("ETH/BTC", "5m"))

    def __init__(self) -> None:
        self.views: list[AgentView] = []

    def update(self, candle: Candle) -> None:
        del candle

    def decide(self, view: AgentView) -> list[Intent]:
        self.views.append(view)
        return []


def _driver(candles: Sequence[Candle], agent: object, **others: Sequence[Candle]) -> Driver:
    return Driver(
        lambda _visible: agent,  # type: ignore[arg-type,return-value]
        candles,
        Instrument.for_price(candles[0].symbol, 100.0),
        LIMITS,
        others={k.replace("_", "/"): v for k, v in others.items()},
    )


def test_an_hourly_bar_appears_only_once_its_hour_has_closed() -> None:
    candles = _candles("BTC/USDT", 30)
    agent = Seen()
    asyncio.run(_driver(candles, agent).run(0, 30))
    hourly = {v.ts: v.series("1h") for v in agent.views[::2]}  # flat views, one per candle
    # Candle 11 (index) closes at START + 1h: the first hour closes with it, not before.
    assert hourly[candles[10].close_ts] == ()
    first = hourly[candles[11].close_ts]
    assert len(first) == 1
    bar = first[0]
    assert (bar.ts, bar.timeframe_ms) == (START, HOUR)
    assert bar.open == candles[0].open and bar.close == candles[11].close
    assert bar.high == max(c.high for c in candles[:12])
    assert bar.volume == 12.0
    # While the second hour forms, only the first is shown, on every candle of it.
    assert all(len(hourly[c.close_ts]) == 1 for c in candles[12:23])
    assert len(hourly[candles[23].close_ts]) == 2


def test_a_bucket_cut_short_by_a_gap_closes_when_time_passes_it() -> None:
    book = SeriesBook()
    book.want("BTC/USDT", "1h")
    candles = _candles("BTC/USDT", 30)
    for candle in candles[:6] + candles[14:16]:  # the first hour's last half is missing
        book.feed(candle)
    bars = book.closed("BTC/USDT", "1h", candles[15].close_ts)
    assert [b.ts for b in bars] == [START]
    assert bars[0].close == candles[5].close


def test_another_symbols_series_is_visible_and_read_only() -> None:
    candles = _candles("BTC/USDT", 20)
    eth = _candles("ETH/BTC", 20, base=0.05)
    agent = Seen()
    asyncio.run(_driver(candles, agent, ETH_BTC=eth).run(0, 20))
    view = agent.views[-1]
    shown = view.series("ETH/BTC", "5m")
    assert [c.ts for c in shown] == [c.ts for c in eth]
    assert all(c.close_ts <= view.ts for c in shown)
    with pytest.raises(TypeError):
        view.informative[("ETH/BTC", "5m")] = ()  # type: ignore[index]
    with pytest.raises(AttributeError):
        shown.append(eth[0])  # type: ignore[attr-defined]
    with pytest.raises(KeyError, match="not among the series"):
        view.series("LTC/BTC", "5m")


def test_a_wrong_declaration_is_refused_in_plain_words() -> None:
    class Bad(Seen):
        informative = (("ETH/BTC", "7m"),)

    with pytest.raises(ConfigError, match="informative series with unknown timeframe '7m'"):
        declared(Bad())


def test_the_warm_up_of_a_series_counts_base_bars() -> None:
    assert bars_for(10, "1h", "5m") == 132


class PeeksAtTheHour(AgentBase):
    """Handed the whole file (as a data frame would be), it reads the close of the hour still
    forming from it: a lookahead into its informative series."""

    name = "peeks_at_the_hour"
    warmup = 0
    informative = ("1h",)

    def __init__(self, visible: Sequence[Candle]) -> None:
        self.visible = visible

    def update(self, candle: Candle) -> None:
        del candle

    def decide(self, view: AgentView) -> list[Intent]:
        closed = view.series("1h")
        if not closed or view.position is not None:
            return []
        hour_end = closed[-1].ts + 2 * HOUR
        ahead = [c for c in self.visible if c.ts + c.timeframe_ms == hour_end]
        if not ahead or ahead[0].close <= closed[-1].close:
            return []
        return [_long(view, view.candle.close_dec)]


def _long(view: AgentView, entry: Decimal) -> Intent:
    from rampart.domain.intents import IntentAction
    from rampart.domain.orders import Side

    return Intent(
        account_id=view.account_id,
        symbol=view.symbol,
        side=Side.BUY,
        action=IntentAction.OPEN,
        entry_price=entry,
        stop_loss=entry * Decimal("0.98"),
        take_profit=entry * Decimal("1.04"),
        size_hint=Decimal(1),
        confidence=0.5,
        rationale="the forming hour closes higher",
        agent="peeks_at_the_hour",
        ts=view.ts,
    )


def test_check_lookahead_catches_a_peek_into_the_informative_series_future() -> None:
    candles = _candles("BTC/USDT", 120)
    driver = Driver(PeeksAtTheHour, candles, Instrument.for_price("BTC/USDT", 100.0), LIMITS)
    report = asyncio.run(check_lookahead(driver, agent="peeks_at_the_hour", signals_max=0))
    assert report.changes, report.sentence()


def test_check_lookahead_passes_an_agent_reading_only_closed_hours() -> None:
    class Honest(PeeksAtTheHour):
        def decide(self, view: AgentView) -> list[Intent]:
            closed = view.series("1h")
            if len(closed) < 2 or view.position is not None:
                return []
            if closed[-1].close <= closed[-2].close:
                return []
            return [_long(view, view.candle.close_dec)]

    candles = _candles("BTC/USDT", 120)
    driver = Driver(Honest, candles, Instrument.for_price("BTC/USDT", 100.0), LIMITS)
    report = asyncio.run(check_lookahead(driver, agent="honest", signals_max=0))
    assert report.found and report.ok, report.sentence()
