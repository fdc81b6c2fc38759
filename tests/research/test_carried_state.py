"""``check-lookahead`` finds state that outlives a run: the agent runs over the file twice in one
process (a fresh agent each time, as a second account, replay or trial would be), and a decision
that differs the second time fails the check, naming what the first run left in the agent's
classes and modules. Each mistake has an honest twin that passes.

- a class-level list of closes (``closes = []`` on the class, shared by every instance) feeding
  a mean of the last 50 (the next run's first candles average the last run's); its twin keeps
  the list on the instance;
- a module-level dict of closes by time, which the next run finds full of the future; its twin
  memoises a pure function of the candle's hour with ``functools.lru_cache`` (state that
  changes no decision: named, not failed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.cli.main import app
from rampart.research.carried_state import changed, snapshot
from tests.research.helpers import SHORT

runner = CliRunner()

HEAD = """
import functools
from decimal import Decimal

from rampart.agents.base import RuleAgent
from rampart.agents.indicators import ATR

SEEN = {}


@functools.lru_cache(maxsize=None)
def weight(hour):
    return 1.0 + 0.0 * hour


class Planted(RuleAgent):
    name = "planted"
    closes = []

    def __init__(self) -> None:
        super().__init__(Decimal(1))
        self.warmup = 15
        self._atr = ATR(14)
        self.setup()

    def setup(self):
        pass

    def _advance(self, candle):
        self._atr.update(candle.high, candle.low, candle.close)
        self.remember(candle)

    def _decide(self, view):
        confidence = self.buy(view)
        if self._atr.value is None or not confidence:
            return []
        return self.open_long(view, self._atr.value, 1.5, Decimal("1.5"), confidence, "planted")
"""
CLASS_LIST = """
    def remember(self, candle):
        self.closes.append(candle.close)

    def buy(self, view):
        recent = self.closes[-50:]
        below = 1 - view.candle.close / (sum(recent) / len(recent))
        return min(0.99, 0.5 + below * 10) if below > 0 else None
"""
INSTANCE_LIST = (
    """
    def setup(self):
        self.closes = []
"""
    + CLASS_LIST
)
FUTURE_CACHE = """
    def remember(self, candle):
        SEEN[candle.ts] = candle.close

    def buy(self, view):
        upcoming = SEEN.get(view.candle.close_ts)
        return 0.9 if upcoming is not None and upcoming > view.candle.close else None
"""
PURE_CACHE = """
    def remember(self, candle):
        self.last = candle.close * weight(candle.ts // 3_600_000)

    def buy(self, view):
        up = view.candle.close > view.candle.open * weight(view.candle.ts // 3_600_000)
        return 0.6 if up else None
"""


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)


def _check(tmp_path: Path, data: Path, body: str) -> tuple[int, str]:
    (tmp_path / "planted.py").write_text(HEAD + body, encoding="utf-8")
    done = runner.invoke(
        app, ["check-lookahead", "planted.py:Planted", "--data", str(data), "--signals", "4"]
    )
    return done.exit_code, done.output


@pytest.mark.parametrize(
    ("body", "kept"),
    [(CLASS_LIST, "Planted.closes"), (FUTURE_CACHE, "planted.SEEN")],
    ids=["class_list", "future_cache"],
)
def test_state_a_run_leaves_for_the_next_fails_naming_it(
    shared_data: Path, tmp_path: Path, body: str, kept: str
) -> None:
    code, output = _check(tmp_path, shared_data / SHORT, body)
    assert code == 1, output
    last = output.strip().splitlines()[-1]
    assert "decided differently when the agent ran over the file a second time in the same " in last
    assert f"it keeps state between runs ({kept})" in last, last
    assert "run again in the same process it proposed" in output, output


@pytest.mark.parametrize("body", [INSTANCE_LIST, PURE_CACHE], ids=["instance_list", "pure_cache"])
def test_its_honest_twin_passes(shared_data: Path, tmp_path: Path, body: str) -> None:
    code, output = _check(tmp_path, shared_data / SHORT, body)
    assert code == 0, output
    assert "check-lookahead planted.py:Planted: passed. No lookahead:" in output, output
    # The memo is named (it grew), though it changes no decision; the instance list is not.
    assert ("planted.weight" in output) == (body is PURE_CACHE), output
    assert "Planted.closes" not in output


def test_a_snapshot_names_what_was_rebound_grew_or_appeared() -> None:
    import sys
    import types

    module = types.ModuleType("kept_state")
    module.__file__ = "/agents/kept_state.py"
    exec(  # noqa: S102 - a module of the test's own, built in place
        "import functools\nCACHE = {}\nLIMIT = 3\nclass A:\n    seen = []\n"
        "@functools.lru_cache\ndef f(x):\n    return x\n",
        module.__dict__,
    )
    sys.modules["kept_state"] = module
    try:
        cls = module.A
        cls.__module__ = "kept_state"
        code = ["/agents/kept_state.py"]
        before = snapshot(cls, code)
        assert changed(before, snapshot(cls, code)) == ()
        module.CACHE["k"] = 1
        cls.seen.append(1)
        module.f(2)
        module.LIMIT = 4
        module.NEW = object()
        assert changed(before, snapshot(cls, code)) == (
            "A.seen",
            "kept_state.CACHE",
            "kept_state.LIMIT",
            "kept_state.NEW",
            "kept_state.f",
        )
    finally:
        del sys.modules["kept_state"]
