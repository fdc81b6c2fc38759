"""The service imports the report charts' library as it builds its jobs (at its start): the
first daily report then adds no step to its memory (~50 MB, which the MemoryGrowth rule would
page as growth after every restart). Run in a fresh interpreter, where nothing imported it.
Every chart is drawn on the one thread the warm-up drew on: matplotlib keeps its fonts a
thread, so a report drawn on another worker thread would load them again."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rampart.reports import charts
from rampart.reports.charts import render_charts, warm_up
from rampart.reports.figures import Figures

FIGURES = Figures(
    start=0, end=86_400_000, account=None, equity_curve=[(0, 100.0), (3_600_000, 101.5)]
)

CHECK = """
import asyncio, sys
from pathlib import Path
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.store.db import open_database
from rampart.reports import charts
from rampart.wiring.jobs import scheduled_jobs

folder = Path(sys.argv[1])
settings = load_settings(None)
settings.store.url = f"sqlite:///{folder / 'live.db'}"
engine = open_database(settings.store.url)
assert "matplotlib.figure" not in sys.modules
scheduled_jobs(
    settings, engine, business=SimClock(0), rollout=None, messenger=lambda: None,
    save_now=lambda: asyncio.sleep(0),
)
charts._drawer().submit(int).result(60)  # after the warm-up queued before it
print("matplotlib.figure" in sys.modules)
"""


def test_building_the_service_s_jobs_imports_the_charts_library(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("True"), done.stdout


def test_the_warm_up_draws_a_chart_when_the_extra_is_installed() -> None:
    assert warm_up() is True
    assert "matplotlib.figure" in sys.modules


def test_every_chart_is_drawn_on_the_warm_up_s_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[str, str]] = []
    for name in ("equity_chart", "pnl_by_strategy_chart", "order_outcomes_chart"):
        real = getattr(charts, name)

        def noted(*args: object, _real: object = real, _name: str = name, **kw: object) -> bytes:
            drawn.append((_name, threading.current_thread().name))
            return _real(*args, **kw)  # type: ignore[operator,no-any-return]

        monkeypatch.setattr(charts, name, noted)
    assert warm_up() is True
    # The warm-up draws each kind of chart a daily report has, not a chart of its own.
    assert sorted(n for n, _ in drawn) == [
        "equity_chart",
        "order_outcomes_chart",
        "pnl_by_strategy_chart",
    ]
    with ThreadPoolExecutor(2) as reports:  # two reports made at once, on two worker threads
        made = list(reports.map(lambda label: render_charts(FIGURES, label, operator=False), "ab"))
    assert [sorted(m) for m in made] == [[charts.EQUITY, charts.PNL_BY_STRATEGY]] * 2
    assert len(drawn) == 7
    threads = {thread for _, thread in drawn}
    assert len(threads) == 1
    assert threads.pop().startswith("report-charts")
