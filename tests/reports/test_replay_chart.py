"""The replay's equity chart: drawn by ``rampart replay`` itself once each file is replayed,
with Pillow, in the same process (a child process to draw it beside the replay cost
more CPU to start than the drawing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app

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


def test_the_command_starts_no_other_process_to_draw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_child(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a process was started: {args[:1]}")

    monkeypatch.setattr(subprocess, "Popen", no_child)
    data = _candles(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["replay", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_chart_that_cannot_be_written_is_reported_and_the_replay_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rampart.reports import summary

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(summary, "draw_equity", full_disk)
    data = _candles(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "equity.png").write_bytes(b"an older run's picture")
    result = runner.invoke(app, ["replay", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "equity.png was not drawn" in text and "No space left on device" in text
    assert "Traceback" not in result.output
    assert not (out / "equity.png").exists()  # no older run's picture left as this one's
    assert (out / "equity.csv").exists() and (out / "trades.csv").exists()
    assert (out / "summary.json").exists()
