"""One study over several files: a folder (or repeated --data) searched with folds per file, the
objective the mean of the files', per-file figures in the report and the evidence; a folder
without candle files, or files of mixed timeframes, refused in one sentence."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import load_settings
from rampart.market.loaders import load_candles, write_candles
from rampart.research.objectives import figures, score
from rampart.research.plan import sample_back
from rampart.research.pooled import PooledBacktest
from rampart.research.search import run_search
from rampart.research.storage import StorageSpec
from tests.research.helpers import SHORT, engine_search

runner = CliRunner()


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "rampart.yaml"
    path.write_text(f"store:\n  url: sqlite:///{tmp_path / 'rampart.db'}\n")
    return path


def _cut(shared: Path, name: str, folder: Path, candles: int) -> Path:
    """The first ``candles`` of a shared file, written in ``folder`` under the same name."""
    folder.mkdir(exist_ok=True)
    series = load_candles(shared / name).series.head(candles)
    return write_candles(series, folder / name)


def test_a_folder_without_candle_files_or_with_mixed_timeframes_is_refused(
    shared_data: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no candles here")
    mixed = tmp_path / "mixed"
    _cut(shared_data, SHORT, mixed, 600)
    _cut(shared_data, "XRP_ETH-1m.feather", mixed, 600)
    for folder, said in (
        (empty, "holds no candle file named like"),
        (mixed, "The files mix timeframes (XRP_ETH-1m.feather is 1m, XRP_ETH-5m.feather is 5m)"),
    ):
        done = runner.invoke(
            app, ["optimize", "--data", str(folder), "--config", str(_config(tmp_path))]
        )
        assert done.exit_code == 2, done.output
        assert said in " ".join(done.output.split()), done.output
        assert "Traceback" not in done.output


def test_a_folder_is_one_study_with_per_file_figures(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    _cut(shared_data, "ETH_BTC-5m.feather", folder, 700)
    _cut(shared_data, "LTC_BTC-5m.feather", folder, 700)
    (folder / "README.md").write_text("not a candle file: skipped")
    out = tmp_path / "out"
    args = ["optimize", "--data", str(folder), "--trials", "6", "--folds", "1", "--jobs", "1"]
    args += ["--seed", "5", "--no-prune", "--capital", "1", "--out", str(out)]
    args += ["--config", str(_config(tmp_path))]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    evidence = json.loads((out / "evidence.json").read_text())
    assert [f["data"].split(" ")[0] for f in evidence["files"]] == [
        "ETH_BTC-5m.feather",
        "LTC_BTC-5m.feather",
    ]
    for each in evidence["files"]:
        [fold] = each["folds"]
        assert fold["out_of_sample"] is not None and fold["buy_and_hold"] is not None
    text = (out / "report.md").read_text()
    assert "## Per file" in text
    assert text.count("| ETH_BTC-5m.feather") >= 1 and text.count("| LTC_BTC-5m.feather") >= 1
    assert "Searched over 2 files" in text and "Searched over 2 files" in done.output
    said = [line for line in evidence["verdict"] if line.startswith(("ETH_BTC", "LTC_BTC"))]
    assert len(said) == 2
    if evidence["luck"]:  # no file's figure is set against buy-and-hold beside luck
        assert not any("buy-and-hold" in line for line in said)
    assert evidence["data"].startswith("2 files (ETH_BTC-5m.feather, LTC_BTC-5m.feather; 5m)")


def test_a_pooled_trial_scores_the_mean_of_its_files(shared_data: Path, tmp_path: Path) -> None:
    """Through the search itself: each trial's value is the mean of the objective on each
    file's in-sample span, and its returns for PBO are each file's, end to end."""
    from dataclasses import replace

    settings = load_settings(None)
    folder = tmp_path / "data"
    files = [
        _cut(shared_data, "ETH_BTC-5m.feather", folder, 700),
        _cut(shared_data, "LTC_BTC-5m.feather", folder, 600),
    ]
    made = [engine_search(f, settings, trials=4, seed=2) for f in files]
    plan = replace(
        made[0][0],
        parts=tuple((f.name, m[0].folds) for f, m in zip(files, made, strict=True)),
    )
    pooled = PooledBacktest(tuple(m[1] for m in made))
    [fold] = run_search(plan, StorageSpec("journal", str(tmp_path / "j.log")), pooled)
    done = [t for t in fold.trials if t.state == "complete"]
    assert len(done) == 4
    for trial in done[:2]:
        params = sample_back(trial.params, plan.searched)
        each = [
            score(plan.objective, figures(m[1](params, m[0].folds[0].in_sample), plan.period_ms))
            for m in made
        ]
        assert trial.value == sum(each) / len(each)
        lengths = [len(fold.file_returns[i][trial.number]) for i in range(2)]
        assert len(fold.returns[trial.number]) == sum(lengths) and all(lengths)
    assert [name for name, _, _ in fold.per_file] == [f.name for f in files]
    assert all(o is not None for _, _, o in fold.per_file)
