"""A replay applies the live market-data guard: a file with a ×1000 and a ×0.001
print replays with them quarantined and listed (``quarantined.csv``, and in the output), a
real −30 % move that stays is confirmed and traded; ``--trust-data`` turns the guard off and
says so, and then the bad prints are traded as they come."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from typer.testing import CliRunner

from rampart.cli.main import app

MINUTE = 60_000
START = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def _file(path: Path) -> Path:
    rng, price, rows = random.Random(5), 40_000.0, []
    for i in range(600):
        close = price * (1 + rng.gauss(0, 0.002))
        if i >= 450:
            close = close if i > 450 else price * 0.7  # a crash the market then stays at
        top, bottom = max(price, close), min(price, close)
        rows.append([START + i * MINUTE, price, top * 1.0005, bottom * 0.9995, close, 10.0])
        price = close
    for i, factor in ((200, 1000.0), (300, 0.001)):
        rows[i] = [rows[i][0], *(v * factor for v in rows[i][1:5]), 10.0]
    path.write_text(json.dumps(rows))
    return path


def _replay(tmp: Path, *extra: str) -> tuple[str, Path]:
    out = tmp / ("trusted" if extra else "guarded")
    data = _file(tmp / "BTC_USDT-1m.json")
    result = CliRunner().invoke(
        app,
        ["replay", "--data", str(data), "--out", str(out), "--no-chart", *extra],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return result.output, out


def test_a_replay_quarantines_and_lists_bad_prints_and_trades_a_real_crash(
    tmp_path: Path,
) -> None:
    output, out = _replay(tmp_path)
    with (out / "quarantined.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["time_utc"][11:16], r["outcome"]) for r in rows] == [
        ("03:20", "rejected"),  # minute 200: ×1000
        ("05:00", "rejected"),  # minute 300: ×0.001
        ("07:30", "confirmed"),  # minute 450: −30 %, and it stays
    ]
    assert all(r["band"] and r["reason"] for r in rows)
    assert "2 held and rejected as bad prints" in output and "quarantined.csv" in output


def test_trust_data_turns_the_guard_off_and_says_so(tmp_path: Path) -> None:
    output, out = _replay(tmp_path, "--trust-data")
    assert "Market-data guard off (--trust-data)" in output
    assert not (out / "quarantined.csv").exists()
