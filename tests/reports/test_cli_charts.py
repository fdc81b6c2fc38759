"""``rampart report``: files written (valid PNGs named in the Markdown), stored and listed; bad
input is one sentence; a day with no trades says so without dividing by zero."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.store.db import open_database
from tests.reports.helpers import fill_store

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    engine = open_database(url)
    fill_store(engine)
    engine.dispose()
    return {"RAMPART_STORE__URL": url, "COLUMNS": "200"}


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_daily_report_files_charts_and_listing(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["report", "daily", "--date", "2024-03-05", "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "Stored as report #1" in result.output
    folder = out / "daily-2024-03-05"
    markdown = (folder / "report.md").read_text()
    named = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", markdown)
    assert named == ["equity.png", "pnl_by_strategy.png", "order_outcomes.png"]
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(named)
    for name in named:
        width, height = _png_size(folder / name)
        assert (width, height) == (800, 350)

    result = runner.invoke(
        app,
        ["report", "weekly", "--date", "2024-03-06", "--out", str(out), "--account", "bob"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert (
        (out / "investor_weekly-2024-03-04-bob" / "report.md")
        .read_text()
        .startswith("# Your week, 2024-W10")
    )

    listing = runner.invoke(app, ["report", "list"], env=env)
    assert listing.exit_code == 0
    assert "investor_weekly" in listing.output and "daily" in listing.output
    assert "2024-03-05" in listing.output and "2024-03-04" in listing.output


def test_a_day_with_no_trades_renders_no_trades(env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["report", "daily", "--date", "2024-01-10", "--out", str(tmp_path)], env=env
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "daily-2024-01-10" / "report.md").read_text()
    assert "No trades closed." in text and "No trades." in text
    assert "| order success | — |" in text
    assert "nan" not in text.lower() and "inf" not in text.lower().replace("info", "")


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["daily", "--date", "2024-13-01"], "'2024-13-01' is not a date; write it as YYYY-MM-DD"),
        (["daily", "--date", "yesterday"], "'yesterday' is not a date"),
        (["daily", "--date", "2999-01-01"], "has not started yet"),
        (["weekly", "--account", "nobody"], "There is no account 'nobody'"),
        (["daily", "--account", "bob"], "An investor's own summary is weekly"),
    ],
)
def test_bad_input_is_one_sentence(
    env: dict[str, str], tmp_path: Path, args: list[str], sentence: str
) -> None:
    result = runner.invoke(app, ["report", *args, "--out", str(tmp_path)], env=env)
    assert result.exit_code == 2
    assert sentence in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*/report.md"))
