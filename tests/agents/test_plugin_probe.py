"""The probe a custom agent passes before it sees money (pinned in the mutation
area ``plugins``): the synthetic candles it is fed, and the view it is asked to decide on at
each bar — the engine's, flat on even bars and holding on odd ones — with its informative
series, its plot and its protections checked on the way."""

from __future__ import annotations

import sys
from decimal import Decimal
from itertools import pairwise

import pytest

from rampart.agents import plugins
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from tests.agents.test_plugins import _fresh as _fresh  # autouse: its own folder, nothing cached
from tests.agents.test_plugins import write

WATCHER = '''
class Watcher:
    """Looks, never trades."""

    name = "watcher"
    warmup = 5
    informative = ("1h",)
    seen = []

    def update(self, candle):
        pass

    def decide(self, view):
        type(self).seen.append((view, len(view.series("1h"))))
        return []
'''


def test_the_probe_asks_on_every_bar_with_the_view_the_engine_would_build() -> None:
    found = plugins.resolve(write("watcher.py", WATCHER) + ":Watcher")
    assert found is not None
    seen = sys.modules[found.cls.__module__].Watcher.seen
    assert len(seen) == 5 + 40  # the warmup and forty bars past it
    candles = plugins.probe_candles(45)
    for i, (view, _) in enumerate(seen, 1):
        candle = candles[i - 1]
        assert (view.account_id, view.symbol, view.candle) == ("probe", "PROBE/USDT", candle)
        assert list(view.history) == candles[:i] and view.ts == candle.close_ts
        assert view.instrument == Instrument.for_price("PROBE/USDT", 100.0)
        assert view.equity == Decimal(10_000)
        position = view.position
        if i % 2 == 0:
            assert position is None and view.cash == Decimal(10_000)
            continue
        assert position is not None and view.cash == Decimal(5_000)
        price = Decimal(str(round(candle.close, 2)))
        assert (position.symbol, position.strategy, position.entry_client_id) == (
            "PROBE/USDT",
            "probe",
            "probe-1",
        )
        assert (position.opened_at, position.qty, position.avg_price) == (
            candle.ts,
            Decimal(50),
            price,
        )
        assert position.stop_loss == price * Decimal("0.97") < price
        assert position.take_profit == price * Decimal("1.06") > price
    # Its hourly series, built from the 5-minute bars: the hours closed by each decision.
    assert [hours for _, hours in seen][10:14] == [0, 1, 1, 1]
    assert seen[-1][1] == 3


def test_the_probe_candles_are_a_fixed_series_of_waves_around_100() -> None:
    candles = plugins.probe_candles(400)
    assert [c.ts for c in candles[:3]] == [0, 300_000, 600_000]
    assert {(c.symbol, c.volume, c.timeframe_ms) for c in candles} == {
        ("PROBE/USDT", 10.0, 300_000)
    }
    assert [round(c.close, 6) for c in candles[:4]] == [100.0, 102.646533, 103.927557, 105.048787]
    assert candles[0].open == 100.0
    for before, candle in pairwise(candles):
        assert candle.open == before.close  # no gaps
    for c in candles:
        assert c.high == pytest.approx(max(c.open, c.close) + 0.4)
        assert c.low == pytest.approx(min(c.open, c.close) - 0.4)
    closes = [c.close for c in candles]
    assert 88 < min(closes) < 89.5 and 110.5 < max(closes) < 112
    hourly = plugins.probe_candles(2, timeframe_ms=3_600_000, symbol="X/USDT")
    assert [(c.symbol, c.ts, c.timeframe_ms) for c in hourly] == [
        ("X/USDT", 0, 3_600_000),
        ("X/USDT", 3_600_000, 3_600_000),
    ]


@pytest.mark.parametrize(
    ("member", "said"),
    [
        ("plot = 42", "plot"),
        ("protections = ('none',)", "declares protection 'none'"),
        ("informative = (42,)", "informative"),
    ],
)
def test_a_wrong_plot_protection_or_series_declaration_is_refused_when_named(
    member: str, said: str
) -> None:
    spec = write(
        "decl.py",
        f"""
class Decl:
    name = "decl"
    warmup = 0
    {member}
    def update(self, candle):
        pass
    def decide(self, view):
        return []
""",
    )
    with pytest.raises(ConfigError, match=said):
        plugins.resolve(spec + ":Decl")
