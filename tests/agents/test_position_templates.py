"""The trailing and scale-out agent templates: each, written out for an
author, passes its own test, replays on a shared candle file, and passes check-lookahead and
check-warmup; the replay's trades.csv carries initial_stop, final_stop, entries and exits per
trade, and shows what the template does: a stop trailed above where it started, a trade sold in
more than one exit."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.cli.main import app

TEMPLATES = Path(__file__).parents[2] / "src" / "rampart" / "agents" / "templates"
DATA = "XRP_USDT-5m.feather"  # 1,999 5m candles: a week with trends both ways
runner = CliRunner()


def _written(template: str, folder: Path, name: str) -> tuple[str, Path]:
    """The template written as an author's agent ``name`` (its class and name renamed, as
    ``rampart agents new --template`` does) and its test; the agent's spec and the test."""
    cls = "".join(part.capitalize() for part in name.split("_"))
    for suffix, target in (("", f"{name}.py"), ("_test", f"test_{name}.py")):
        text = (TEMPLATES / f"{template}{suffix}.py").read_text(encoding="utf-8")
        text = text.replace("TemplateAgent", cls).replace("template_agent", name)
        (folder / target).write_text(text, encoding="utf-8")
    return f"{name}.py:{cls}", folder / f"test_{name}.py"


def _own_test_passes(test_file: Path) -> None:
    spec = importlib.util.spec_from_file_location(test_file.stem, test_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[test_file.stem] = module
    try:
        spec.loader.exec_module(module)
        tests = [getattr(module, n) for n in dir(module) if n.startswith("test_")]
        assert len(tests) >= 2
        for test in tests:
            test()
    finally:
        del sys.modules[test_file.stem]


def _replayed(spec: str, data: Path, folder: Path) -> list[dict[str, str]]:
    done = runner.invoke(app, ["replay", "--data", str(data), "--agent", spec, "--no-chart"])
    assert done.exit_code == 0, done.output
    (trades,) = (folder / "out").glob("*/trades.csv")
    with trades.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the template made no trade on the file"
    for row in rows:
        assert row["initial_stop"] == row["stop_loss"] and row["final_stop"], row
        assert int(row["entries"]) >= 1 and int(row["exits"]) >= 1, row
    return rows


def _checks_pass(spec: str, data: Path) -> None:
    look = runner.invoke(app, ["check-lookahead", spec, "--data", str(data), "--signals", "10"])
    assert look.exit_code == 0 and "No lookahead" in look.output, look.output
    warm = runner.invoke(app, ["check-warmup", spec, "--data", str(data), "--targets", "6"])
    assert warm.exit_code == 0, warm.output


@pytest.fixture(autouse=True)
def _author_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)


def test_the_trailing_template_trails_its_stop_up(shared_data: Path, tmp_path: Path) -> None:
    spec, test_file = _written("trailing", tmp_path, "my_trail")
    _own_test_passes(test_file)
    rows = _replayed(spec, shared_data / DATA, tmp_path)
    raised = [r for r in rows if float(r["final_stop"]) > float(r["initial_stop"])]
    assert raised, "no trade ended with its stop above where it started"
    _checks_pass(spec, shared_data / DATA)


def test_the_scale_out_template_sells_in_steps(shared_data: Path, tmp_path: Path) -> None:
    spec, test_file = _written("scale_out", tmp_path, "my_steps")
    _own_test_passes(test_file)
    rows = _replayed(spec, shared_data / DATA, tmp_path)
    assert [r for r in rows if int(r["exits"]) >= 2], "no trade was sold in two exits or more"
    _checks_pass(spec, shared_data / DATA)
