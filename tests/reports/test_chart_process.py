"""The replay's equity chart drawn by a child process started with the command (issue 16).

The child draws the very PNG ``plot_equity`` draws in-process, from the points read back
exactly from ``equity.csv``; a chart it cannot draw is reported in words and no PNG (not even
an older run's) is left; ``rampart replay`` draws the chart this way by default.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli import replay as replay_cli
from rampart.cli.main import app
from rampart.config import load_settings
from rampart.reports import chart_process
from rampart.reports.chart_process import ChartProcess
from rampart.reports.equity_chart import read_equity_csv
from rampart.reports.summary import plot_equity, write_equity_csv
from rampart.wiring.replay import run_replay, run_replays

POINTS = [
    (1_700_000_000_000, 10_000.0),
    (1_700_000_300_000, 10_000.1 + 0.2),
    (1_700_000_600_000, 9_876.543210987654),
    (1_700_000_900_000, 1e-9 + 10_123.0),
]
runner = CliRunner()


def _candles(folder: Path, n: int = 40) -> Path:
    """A small 1m candle file with a wave in it, so the replay draws a real curve."""
    rows = []
    for i in range(n):
        close = 100.0 + (i % 10) - (i % 7) * 0.5
        rows.append([1_700_000_000_000 + i * 60_000, close, close + 1.0, close - 1.0, close, 50.0])
    path = folder / "BTC_USDT-1m.json"
    path.write_text(json.dumps(rows))
    return path


def test_equity_csv_reads_back_the_exact_points(tmp_path: Path) -> None:
    csv_path = tmp_path / "equity.csv"
    write_equity_csv(POINTS, csv_path)
    assert read_equity_csv(csv_path) == POINTS


def test_the_child_draws_the_same_png_as_plot_equity(tmp_path: Path) -> None:
    csv_path = tmp_path / "equity.csv"
    write_equity_csv(POINTS, csv_path)
    here, there = tmp_path / "here.png", tmp_path / "there.png"
    assert plot_equity(POINTS, here, "BTC/USDT · trend · moderate")
    with ChartProcess.start() as charts:
        charts.draw(csv_path, there, "BTC/USDT · trend · moderate")
        assert charts.finish() == {there: None}
    assert there.read_bytes() == here.read_bytes()


def test_a_chart_the_child_cannot_draw_is_reported_and_absent(tmp_path: Path) -> None:
    png = tmp_path / "equity.png"
    png.write_bytes(b"an older run's picture")
    with ChartProcess.start() as charts:
        charts.draw(tmp_path / "missing.csv", png, "t")
        [(path, reason)] = charts.finish().items()
    assert path == png
    assert reason is not None and "missing.csv" in reason
    assert not png.exists()


def test_a_replay_whose_chart_process_died_says_so(tmp_path: Path) -> None:
    data = _candles(tmp_path)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "equity.png").write_bytes(b"an older run's picture")
    charts = ChartProcess.start()
    charts.proc.kill()
    charts.proc.wait()
    with charts:
        result = asyncio.run(
            run_replay(
                data,
                "trend",
                "moderate",
                Decimal(1000),
                load_settings(),
                out,
                charts=charts,
            )
        )
    assert result.chart is False
    assert result.chart_error is not None and "ended without drawing it" in result.chart_error
    assert not result.equity_png.exists()
    assert result.equity_csv.exists()


def test_replays_with_the_child_give_the_same_results_and_charts(tmp_path: Path) -> None:
    data = _candles(tmp_path)
    settings = load_settings()
    here = asyncio.run(
        run_replays([data], "trend", "moderate", Decimal(1000), settings, tmp_path / "here")
    )
    with ChartProcess.start() as charts:
        there = asyncio.run(
            run_replays(
                [data],
                "trend",
                "moderate",
                Decimal(1000),
                settings,
                tmp_path / "there",
                charts=charts,
            )
        )
    [a], [b] = here, there
    assert a.summary == b.summary
    assert a.equity_csv.read_text() == b.equity_csv.read_text()
    assert a.trades_csv.read_text() == b.trades_csv.read_text()
    assert a.chart and b.chart and b.chart_error is None
    assert a.equity_png.read_bytes() == b.equity_png.read_bytes()


def test_the_command_draws_the_chart_by_default(tmp_path: Path) -> None:
    data = _candles(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["replay", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    png = out / "equity.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 1000
    assert "equity.png" in result.output.replace("\n", "")
    assert "was not drawn" not in result.output


def test_with_one_core_the_command_draws_the_chart_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_child() -> ChartProcess:
        raise AssertionError("a chart process was started on one core")

    monkeypatch.setattr(replay_cli, "usable_cores", lambda: 1)
    monkeypatch.setattr(ChartProcess, "start", staticmethod(no_child))
    data = _candles(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["replay", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_with_two_cores_the_command_starts_the_chart_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[ChartProcess] = []
    real_start = ChartProcess.start

    def counted() -> ChartProcess:
        started.append(real_start())
        return started[-1]

    monkeypatch.setattr(replay_cli, "usable_cores", lambda: 2)
    monkeypatch.setattr(ChartProcess, "start", staticmethod(counted))
    data = _candles(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["replay", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(started) == 1 and started[0].sent == [out / "equity.png"]
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_script_starts_the_chart_process_before_the_command_takes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chart_process, "usable_cores", lambda: 2)
    for argv in (["report", "list"], ["replay", "--no-chart"], ["replay", "--help"], []):
        assert not chart_process.start_early(argv), argv
    assert chart_process.start_early(["replay", "--data", "BTC_USDT-1m.json"])
    early = chart_process._early[0]
    taken = ChartProcess.start()
    again = ChartProcess.start()  # a second chart process is a new one, not the same twice
    try:
        assert taken is early and again is not early
        assert chart_process._early == []
    finally:
        taken.close()
        again.close()


def test_on_one_core_the_script_starts_no_chart_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_process, "usable_cores", lambda: 1)
    assert not chart_process.start_early(["replay", "--data", "BTC_USDT-1m.json"])
    assert chart_process._early == []


def test_a_chart_process_no_replay_took_ends_with_the_script() -> None:
    # A replay whose arguments were wrong never takes the child: it must not outlive us.
    code = (
        "import rampart.reports.chart_process as cp\n"
        "cp.usable_cores = lambda: 2\n"
        "assert cp.start_early(['replay', '--agent', 'no-such-agent'])\n"
        "print(cp._early[0].proc.pid)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_rampart_script_draws_a_replays_chart(tmp_path: Path) -> None:
    data = _candles(tmp_path)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "rampart.cli.entry", "replay", "--data", str(data)]
    done = subprocess.run(
        [*argv, "--out", str(out)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "was not drawn" not in done.stdout


def test_the_chart_draws_each_pixel_columns_first_lowest_highest_and_last_point() -> None:
    from rampart.reports.equity_chart import envelope

    small = [(i, float(i % 7)) for i in range(40)]
    assert envelope(small, columns=10) is small  # four points a column or fewer: as they are
    points = [(i * 60_000, float((i * 7919) % 101)) for i in range(1_000)]
    kept = envelope(points, columns=10)
    assert len(kept) <= 40 and kept[0] == points[0] and kept[-1] == points[-1]
    assert kept == sorted(kept)  # in time order, none twice
    for column in range(10):
        chunk = points[column * 100 : (column + 1) * 100]
        values = [v for _, v in chunk]
        shown = [p for p in kept if chunk[0][0] <= p[0] <= chunk[-1][0]]
        assert min(v for _, v in shown) == min(values)
        assert max(v for _, v in shown) == max(values)
