"""What each kind of run keeps of its events: a replay's store writer takes every order, fill
and trade (its rows and audit entries are written at each checkpoint); a research trial's takes
none, as a trial's store is never written (no row is built only to be dropped)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rampart.config import load_settings
from rampart.research.trial import Span
from rampart.store.writer import StoreWriter
from rampart.wiring.replay import run_replay
from tests.research.helpers import SHORT, engine_search

PARAMS = {"fast": 5, "slow": 13}


def _taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every event a store writer takes, in order."""
    taken: list[str] = []
    real: Callable[[StoreWriter, type], Callable[[Any], None] | None] = StoreWriter.route

    def route(self: StoreWriter, kind: type) -> Callable[[Any], None] | None:
        handler = real(self, kind)
        if handler is None:
            return None
        inner = handler

        def counted(event: Any) -> None:
            taken.append(type(event).__name__)
            inner(event)

        return counted

    monkeypatch.setattr(StoreWriter, "route", route)
    return taken


def test_a_trial_builds_no_row(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = _taken(monkeypatch)
    _, backtest, closes = engine_search(shared_data / SHORT, load_settings(None))
    result = backtest(PARAMS, Span(0, 50, len(closes)))
    assert result.trades > 0
    assert taken == []


def test_a_replay_keeps_every_order_and_fill(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _taken(monkeypatch)
    out = tmp_path / "out"
    result = asyncio.run(
        run_replay(
            shared_data / SHORT, "trend", "moderate", Decimal(1), load_settings(None), out,
            f"sqlite:///{tmp_path}/replay.db", params=PARAMS, chart=False,
        )
    )  # fmt: skip
    assert result.summary.trades > 0
    assert {"OrderUpdated", "FillBooked", "TradeClosed"} <= set(taken)
    assert taken.count("TradeClosed") == result.summary.trades
