"""A Freqtrade port whose stop every built-in profile refuses is told so by `rampart replay`
(typer's CliRunner), with the override that takes it, instead of only "trades 0"; replayed with
that override, it trades."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.cli.main import app

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "authors" / "examples"
AGENT = f"{EXAMPLE / 'freqtrade_101.py'}:MyStrategy"  # a 10 % stop, a 1 % ROI
runner = CliRunner()


def _replay(data: Path, out: Path, *more: str) -> tuple[str, int]:
    done = runner.invoke(
        app,
        ["replay", "--data", str(data), "--agent", AGENT, "--out", str(out), "--no-chart", *more],
    )
    assert done.exit_code == 0, done.output
    with (out / "trades.csv").open() as f:
        trades = sum(1 for _ in csv.DictReader(f))
    return " ".join(done.output.split()), trades


def test_the_summary_names_the_override_that_takes_the_refused_entries(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("talib")
    monkeypatch.setattr(plugins, "_resolved", {})
    data = shared_data / "XRP_USDT-5m.feather"
    said, trades = _replay(data, tmp_path / "refused")
    assert trades == 0
    refused = re.search(r"(\d+) entries refused by the moderate profile for their bracket", said)
    assert refused is not None and int(refused.group(1)) > 0, said
    assert "stops 10 % to" in said  # what the port asks for, in its own words
    override = re.search(
        r"No profile takes them: override one in the settings, (profiles: .+?) \(", said
    )
    assert override is not None, said
    # The override it names, in the settings, takes the port's entries.
    config = tmp_path / "settings.yaml"
    config.write_text(override.group(1) + "\n", encoding="utf-8")
    said, trades = _replay(data, tmp_path / "taken", "--config", str(config))
    assert trades > 0
    assert "for their bracket" not in said
