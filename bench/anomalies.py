"""Anomaly false alarms: every candle file of ``../shared/data/`` replayed with
each rule agent (aggressive profile) and the anomaly watch on, then the 24 h demo (twelve
accounts on the three strategies, a simulated day of the synthetic feed, the in-service alert
engine on the anomaly rules), with hourly equity snapshots and with 5-minute ones (so the PnL
detector judges within the day). Prints incidents by severity and what was judged; P0 and P1
must be 0. Asserts nothing.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import candle_files, quiet_logs
from rampart.config import load_settings
from rampart_testkit.anomaly_desk import demo_day, replay_anomalies, severities

AGENTS = ("trend", "mean_reversion", "breakout")


def main() -> None:
    quiet_logs()
    settings = load_settings()
    total: Counter[str] = Counter()
    for path in candle_files():
        for agent in AGENTS:
            with tempfile.TemporaryDirectory() as work:
                run = asyncio.run(replay_anomalies(path, agent, settings, Path(work)))
            sev = severities(run)
            total.update(sev)
            judged = ", ".join(f"{k.value} {n}" for k, n in sorted(run.judged.items()))
            kinds = Counter(a.kind.value for a in run.anomalies)
            print(f"{path.name:22} {agent:15} {run.candles:6} candles  {sev}  {dict(kinds)}")
            print(f"{'':38} judged: {judged}")
            for a in run.anomalies:
                print(f"{'':38} {a.kind.value}: {a.figures}")
    print(f"files total: {dict(total)}")
    for step in (3_600_000, 300_000):
        started = time.perf_counter()
        desk = asyncio.run(demo_day(equity_snapshot_ms=step))
        judged = ", ".join(f"{k.value} {n}" for k, n in sorted(desk.watch.detector.judged.items()))
        print(
            f"24 h demo, equity every {step // 60_000} min: incidents {dict(desk.incidents())}, "
            f"anomalies {len(desk.anomalies)}, {time.perf_counter() - started:.1f} s"
        )
        print(f"  judged: {judged}")
        for a in desk.anomalies:
            print(f"  {a.account_id} {a.kind.value}: {a.figures}")


if __name__ == "__main__":
    main()
