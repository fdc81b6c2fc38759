"""``check-lookahead``'s second run, in this process: the same agent on the moved market (every
price doubled, the times whole weeks later), compared on every candle asked (the mutation area
``lookahead``; the command runs it in the sandbox's child, where mutation testing sees no test
reach it). An agent reading only its candles decides the same; one carrying the real data
with it decides apart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rampart.agents.registry import make_agent
from rampart.domain.candles import Candle
from rampart.market.loaders import load_candles
from rampart.research.future_shift import WEEK_MS, shift_of, shifted_candles, shifted_instrument
from rampart.research.lookahead import LookaheadReport, check_lookahead
from rampart.research.signals import AgentFactory, Driver
from tests.research.helpers import SHORT, PeekAgent
from tests.research.test_checks import driver


@pytest.fixture
def candles(shared_data: Path) -> list[Candle]:
    return list(load_candles(shared_data / SHORT).series.iter_candles())[:240]


def _check(candles: list[Candle], factory: AgentFactory, limit: int | None) -> LookaheadReport:
    d = driver(candles, factory)
    shift = shift_of(candles)
    moved = Driver(
        factory,
        shifted_candles(candles, shift),
        shifted_instrument(d.instrument),
        d.constraints,
        equity=d.equity * 2,
    )
    ticks: list[tuple[int, int]] = []
    check = check_lookahead(
        d,
        agent="a",
        limit=limit,
        signals_max=2,
        quiet=2,
        moved=moved,
        tick=lambda done, total: ticks.append((done, total)),
    )
    report = asyncio.run(check)
    # One tick per candle re-computed on cut data, counting from one to their number.
    asked = report.signals + report.quiet_checked
    assert ticks == [(k, asked) for k in range(1, asked + 1)]
    assert (report.agent, report.candles, report.times is not None) == ("a", len(candles), True)
    return report


def test_an_agent_reading_only_its_candles_decides_the_same_on_the_moved_market(
    candles: list[Candle],
) -> None:
    whole = _check(candles, lambda _v: make_agent("breakout"), None)
    assert whole.ok and whole.moved == () and whole.compared == 240
    assert whole.signals == 2 < whole.found  # at most signals_max of them re-computed
    last = _check(candles, lambda _v: make_agent("breakout"), 60)
    assert last.compared == 60 and last.found < whole.found  # only the last 60 asked
    assert _check(candles, lambda _v: make_agent("breakout"), 1_000).compared == 240
    alone = check_lookahead(driver(candles, lambda _v: make_agent("breakout")), agent="a")
    assert asyncio.run(alone).compared == 0  # no moved market: nothing compared


def test_an_agent_carrying_the_real_data_depends_on_candle_times_which_is_no_lookahead(
    candles: list[Candle],
) -> None:
    # It looks the next close up by the candle's time in a copy of the file: the cut runs
    # decide the same (a real agent's copy is a file, cut or read outside the engine's view),
    # the moved market decides apart (its times no longer match the copy's). That alone is a
    # dependence on candle times, said with the lookup named, never a lookahead.
    report = _check(candles, lambda _v: PeekAgent(candles), None)
    assert report.changes == () and report.moved and report.ok
    weeks = shift_of(candles) // WEEK_MS
    assert all(m.weeks == weeks and m.original.any and not m.moved.any for m in report.moved)
    assert report.lookups == ("PeekAgent._next",)
    sentence = report.sentence()
    assert sentence.startswith("No lookahead: "), sentence
    assert (
        "decided differently with every price doubled and the times moved: its decisions depend "
        "on candle times (it looks up PeekAgent._next by time), which is not lookahead"
    ) in sentence


def test_an_agent_handed_the_future_fails_naming_the_attribute_that_carried_it(
    candles: list[Candle],
) -> None:
    # Built with the candles it is handed, cut at each candle, its lookup of the next close
    # loses the candle judged: the truncated past finds it, naming the attribute.
    report = _check(candles, PeekAgent, None)
    assert not report.ok and report.changes
    assert report.changes[0].through == ("PeekAgent._next",)
    assert "(the future came through PeekAgent._next)" in report.changes[0].describe()
    assert "removed (the future came through PeekAgent._next)" in report.sentence()
