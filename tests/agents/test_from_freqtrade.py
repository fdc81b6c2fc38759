"""The EMA + RSI example of docs/authors/from-freqtrade.md is at most 40
lines, is the one the guide shows, replays on a shared file, and its replay's chart draws the
indicators it declares in ``plot``."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.cli.main import app
from rampart.reports.indicator_chart import CLOSE, COLORS, ENTRY, EXIT, INK, TITLE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "authors" / "examples" / "ema_rsi.py"
GUIDE = ROOT / "docs" / "authors" / "from-freqtrade.md"
runner = CliRunner()


def test_the_example_is_at_most_40_lines_and_is_the_guides() -> None:
    code = EXAMPLE.read_text(encoding="utf-8")
    assert len(code.splitlines()) <= 40
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert code in blocks
    assert f"ema_rsi.py`, {len(code.splitlines())} lines" in GUIDE.read_text(encoding="utf-8")


def test_the_example_replays_and_its_chart_draws_what_it_plots(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    monkeypatch.setattr(plugins, "_resolved", {})
    out = tmp_path / "out"
    done = runner.invoke(
        app,
        [
            *("replay", "--data", str(shared_data / "XRP_ETH-5m.feather")),
            *("--agent", f"{EXAMPLE}:EmaRsi", "--out", str(out)),
        ],
    )
    assert done.exit_code == 0, done.output
    assert f"Indicators: {out / 'chart.png'}" in done.output.replace("\n", "")
    with (out / "trades.csv").open() as f:
        assert any(t["strategy"] == "ema_rsi" for t in csv.DictReader(f))
    with (out / "indicators.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["ts", "close", "fast", "slow", "rsi"]
    for name in ("fast", "slow", "rsi"):
        assert rows[0][name] == ""  # warming up: nothing drawn yet
        assert rows[-1][name] and float(rows[-1][name]) > 0
    assert 0 < float(rows[-1]["rsi"]) < 100
    # Each declared line is drawn in its own colour (fast, slow over the price; rsi below).
    with Image.open(out / "chart.png") as image:
        drawn = {rgb for _, rgb in image.convert("RGB").getcolors(maxcolors=1 << 20) or ()}
    assert {CLOSE, COLORS[0], COLORS[1], COLORS[2]} <= drawn
    # Each trade's entry and exit are marked on the price, in colours no line takes, and the
    # time axis is written under the last pane (the replay's own trades, read back).
    assert {ENTRY, EXIT} <= drawn and not {ENTRY, EXIT} & set(COLORS)
    with Image.open(out / "chart.png") as image:
        rgb = image.convert("RGB")
        below = rgb.crop((0, rgb.height - 40, rgb.width, rgb.height))
        assert INK in {c for _, c in below.getcolors(maxcolors=1 << 20) or ()}
        above = rgb.crop((0, TITLE, rgb.width, TITLE + 290))  # the price pane
        marked = {c for _, c in above.getcolors(maxcolors=1 << 20) or ()}
        assert {ENTRY, EXIT} <= marked
