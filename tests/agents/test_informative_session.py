"""Informative symbols and timeframes in a paper session built from the settings (the path
of `rampart run` and of a worker's engine): another symbol the agent reads must be carried by
the feed, and its closed bars are in the agent's view."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rampart.agents import plugins
from rampart.agents.plugins import probe_candles
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.config.checks import check_settings
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.wiring.session import TradingSession
from tests.trading.helpers import INSTRUMENT, SYMBOL

OTHER = "ETH/USDT"
WATCHER = f'''
import json

from rampart.agents.base import AgentBase


class Watcher(AgentBase):
    name = "watcher"
    warmup = 0
    informative = (("{OTHER}", "15m"),)

    def update(self, candle):
        pass

    def decide(self, view):
        bars = [[b.ts, b.timeframe_ms] for b in view.series("{OTHER}", "15m")]
        with open("seen.jsonl", "a") as out:
            out.write(json.dumps([view.ts, bars]) + "\\n")
        return []
'''
ACCOUNT = "  - {id: w, agent: 'watcher.py:Watcher', profile: moderate, symbols: [BTC/USDT]}\n"


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "watcher.py").write_text(WATCHER, encoding="utf-8")


def _settings(tmp_path: Path, symbols: str) -> object:
    path = tmp_path / "rampart.yaml"
    path.write_text(f"feed:\n  symbols: [{symbols}]\naccounts:\n{ACCOUNT}", encoding="utf-8")
    return load_settings(path)


def test_an_informative_symbol_the_feed_does_not_carry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"its agent reads {OTHER} \\(informative\\)"):
        check_settings(_settings(tmp_path, SYMBOL))  # type: ignore[arg-type]


def test_a_paper_session_shows_the_other_symbols_closed_bars(tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"{SYMBOL}, {OTHER}")
    check_settings(settings)  # type: ignore[arg-type]
    other = Instrument.for_price(OTHER, 100.0)
    session = TradingSession(
        settings, SimClock(0), {SYMBOL: INSTRUMENT, OTHER: other},  # type: ignore[arg-type]
        db_url=f"sqlite:///{tmp_path / 's.db'}", checkpoint_name="run",
        accounts=settings.accounts, checkpoint_every=10_000,  # type: ignore[attr-defined]
    )  # fmt: skip

    async def trade() -> None:
        await session.open()
        clock = session.clock
        assert isinstance(clock, SimClock)
        try:
            mine = probe_candles(90, 60_000, SYMBOL)
            theirs = probe_candles(90, 60_000, OTHER)
            for a, b in zip(theirs, mine, strict=True):  # the other symbol's bar comes first
                clock.set(max(clock.now_ms(), a.close_ts))
                await session.process(a)
                await session.process(b)
        finally:
            session.close()

    asyncio.run(trade())
    lines = (tmp_path / "seen.jsonl").read_text().splitlines()
    seen = [(ts, bars) for ts, bars in map(json.loads, lines)][-90:]  # after the probe's
    assert len(seen) == 90
    for ts, bars in seen:
        assert len(bars) == ts // 900_000  # every quarter hour closed by then, and no other
        assert all(start + tf <= ts for start, tf in bars)
