"""``rampart optimize`` answers bad input with one sentence, before any trial runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from tests.research.helpers import SHORT

runner = CliRunner()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--agent", "ml"], "The ml agent's parameters are not searched"),
        (["--agent", "llm"], "every candle would be a paid model call"),
        (["--agent", "nope"], "Unknown agent 'nope'"),
        (["--fix", "speed=3"], "Agent 'trend' has no parameter 'speed'"),
        (["--fix", "fast=99"], "must be a whole number from 2 to 50, not '99'"),
        (["--range", "fast=1:10"], "must be a whole number from 2 to 50, not '1'"),
        (["--range", "fast=10"], "--range fast takes LOW:HIGH"),
        (["--range", "fast=20:10"], "--range fast: 20 is above 10"),
        (["--fix", "fast=5", "--range", "fast=3:9"], "fast is both fixed (--fix) and searched"),
        (["--objective", "winrate"], "--objective must be one of sharpe, sortino, calmar, profit"),
        (["--max-drawdown", "0"], "--max-drawdown is a percentage above 0"),
        (["--folds", "40"], "each block needs at least 50 candles"),
        (["--study", "a b"], "--study is a name of letters"),
    ],
)
def test_bad_input_is_one_sentence(
    shared_data: Path, tmp_path: Path, extra: list[str], said: str
) -> None:
    config = tmp_path / "r.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path / 'r.db'}\n")
    done = runner.invoke(
        app, ["optimize", "--data", str(shared_data / SHORT), "--config", str(config), *extra]
    )
    assert done.exit_code == 2, done.output
    assert said in " ".join(done.output.split()), done.output
    assert "Traceback" not in done.output
    assert not (tmp_path / "r.optuna.log").exists()  # nothing searched, nothing stored


def test_costs_must_be_on(shared_data: Path, tmp_path: Path) -> None:
    for venue, said in (
        ("taker_fee: 0", "Research trades with fees on"),
        ("slippage_bps: 0", "Research trades with slippage on"),
    ):
        config = tmp_path / "r.yaml"
        config.write_text(f"store:\n  url: sqlite:///{tmp_path / 'r.db'}\nvenue:\n  {venue}\n")
        done = runner.invoke(
            app, ["optimize", "--data", str(shared_data / SHORT), "--config", str(config)]
        )
        assert done.exit_code == 2 and said in " ".join(done.output.split()), done.output
