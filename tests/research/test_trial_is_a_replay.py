"""A research trial trades through the same engine as ``rampart replay``: its figures on a
file's candles equal a plain replay of the same parameters on the same candles (the trial's
shared empty store, the candles traded without the session's per-candle wrapper and no
final checkpoint change nothing)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from rampart.config import load_settings
from rampart.market.loaders import load_candles, write_candles
from rampart.research.trial import Span
from rampart.wiring.replay import run_replay
from tests.research.helpers import SHORT, engine_search


def _spiked(shared: Path, folder: Path) -> Path:
    """The short file with one candle's prices tripled: the price guard holds it, then drops
    it when the next candle does not confirm it (the trials after the first replay what the
    guard answered then)."""
    series = load_candles(shared / SHORT).series
    columns = ("open", "high", "low", "close")
    prices = {k: np.array(getattr(series, k), dtype=float) for k in columns}
    for column in prices.values():
        column[400] *= 3
    folder.mkdir()
    return write_candles(replace(series, **prices), folder / SHORT)


@pytest.mark.parametrize("spike", [False, True], ids=["clean", "spiked"])
def test_a_trial_equals_a_replay_of_its_parameters(
    shared_data: Path, tmp_path: Path, spike: bool
) -> None:
    settings = load_settings(None)
    data = _spiked(shared_data, tmp_path / "data") if spike else shared_data / SHORT
    _, backtest, closes = engine_search(data, settings)
    params = {"fast": 5, "slow": 13, "atr_period": 7, "atr_k": 1.5, "target_rr": Decimal("1.5")}
    everything = Span(0, 0, len(closes))
    first = backtest(params, everything)
    again = backtest(params, everything)  # the store the trials share is left empty
    assert again == first
    held = [a for a in backtest._admitted[(0, len(closes))] if len(a) != 1]
    assert bool(held) == spike  # the spiked file takes the guard's long way
    replayed = asyncio.run(
        run_replay(
            data,
            "trend",
            "moderate",
            Decimal(1),
            settings,
            tmp_path / "replay",
            f"sqlite:///{tmp_path / 'replay.db'}",
            params=params,
            chart=False,
        )
    )
    summary = replayed.summary
    assert summary.trades == first.trades > 0
    assert float(summary.final_equity) == first.final
    assert float(summary.fees_paid) == first.fees
