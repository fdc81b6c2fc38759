"""The service imports the report charts' library as it builds its jobs (at its start): the
first daily report then adds no step to its memory (~50 MB, which the MemoryGrowth rule would
page as growth after every restart). Run in a fresh interpreter, where nothing imported it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rampart.reports.charts import warm_up

CHECK = """
import asyncio, sys, threading
from pathlib import Path
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.store.db import open_database
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
for thread in threading.enumerate():
    if thread.name == "charts-warm-up":
        thread.join(60)
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
