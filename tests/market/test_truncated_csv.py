"""A CSV file cut mid-row (a download or copy that stopped part-way) is refused, as
docs/operators/data.md says truncated files are: by the loaders, by ``rampart data inspect``
and by ``rampart replay``, in one sentence naming the file, and nothing is written.

A short last row used to read as one "bad row" among many and be dropped quietly: the file
was accepted with its end missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from market_helpers import assert_one_sentence, make_series, rows_of
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.errors import DataError
from rampart.market.loaders import load_candles
from rampart.market.quality import inspect_file

runner = CliRunner()


def _csv(header: bool) -> str:
    lines = ["timestamp,open,high,low,close,volume"] if header else []
    lines += [",".join(str(v) for v in row) for row in rows_of(make_series(60))]
    return "\n".join(lines) + "\n"


def _cut(text: str, keep_fields: int) -> str:
    """``text`` with its last row cut after ``keep_fields`` fields, mid-value, no newline."""
    *rows, last, _ = text.split("\n")
    fields = last.split(",")
    return "\n".join([*rows, ",".join(fields[:keep_fields]) + "," + fields[keep_fields][:3]])


@pytest.mark.parametrize("header", [True, False], ids=["headed", "ccxt-rows"])
@pytest.mark.parametrize("keep", [1, 3, 4])
def test_the_loaders_refuse_a_csv_cut_mid_row(tmp_path: Path, header: bool, keep: int) -> None:
    path = tmp_path / "ETH_BTC-1m.csv"
    path.write_text(_cut(_csv(header), keep))
    for read in (load_candles, inspect_file):
        with pytest.raises(DataError) as refused:
            read(path)
        assert_one_sentence(refused.value.message, str(path), "truncated")


def test_a_whole_csv_without_a_final_newline_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "ETH_BTC-1m.csv"
    path.write_text(_csv(True).rstrip("\n"))
    assert len(load_candles(path).series) == 60


def test_data_inspect_and_replay_refuse_it_and_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ETH_BTC-1m.csv"
    path.write_text(_cut(_csv(True), 3))
    inspected = runner.invoke(app, ["data", "inspect", str(path)])
    assert inspected.exit_code == 2, inspected.output
    assert "truncated" in inspected.output and "Traceback" not in inspected.output
    out = tmp_path / "out"
    replayed = runner.invoke(
        app,
        ["replay", "--data", str(path), "--agent", "trend", "--no-chart", "--out", str(out)],
        env={"RAMPART_STORE__URL": f"sqlite:///{tmp_path / 'r.db'}"},
    )
    assert replayed.exit_code == 2, replayed.output
    assert "truncated" in replayed.output and "Traceback" not in replayed.output
    assert not any(out.rglob("*.csv"))
