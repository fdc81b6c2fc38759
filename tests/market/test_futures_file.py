"""A Freqtrade futures file given to replay: a plain sentence saying Rampart trades
spot and which file to use, not "Unexpected error: ValidationError"; nothing written."""

from __future__ import annotations

from pathlib import Path

from tests.market.test_truncated_csv import _csv
from typer.testing import CliRunner

from rampart.cli.main import app

runner = CliRunner()


def test_replay_of_a_futures_file_says_spot_only_in_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "ETH_BTC_BTC-1m-futures.csv"
    path.write_text(_csv(True))
    out = tmp_path / "out"
    replayed = runner.invoke(
        app,
        ["replay", "--data", str(path), "--agent", "trend", "--no-chart", "--out", str(out)],
        env={"RAMPART_STORE__URL": f"sqlite:///{tmp_path / 'r.db'}"},
    )
    said = " ".join(replayed.output.split())
    assert replayed.exit_code == 2, said
    assert "holds futures candles (ETH/BTC:BTC); Rampart trades spot only" in said, said
    assert "ETH_BTC-5m.feather" in said
    assert "Unexpected error" not in said and "ValidationError" not in said
    assert not any(out.rglob("*.csv"))
