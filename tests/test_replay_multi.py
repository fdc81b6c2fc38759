"""Several candle files in one ``rampart replay`` run, agent parameters, and ``--no-chart``.

One run, one database, one account per file: each file's figures are exactly those of
replaying it alone. ``--param NAME=VALUE`` reaches the agent; a bad name or value is one
sentence, exit 2, and nothing is written.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import load_settings
from rampart.wiring.replay import run_replay, run_replays

from .cli_process import modules_after
from .conftest import SHARED_DATA

FILES = [SHARED_DATA / "XRP_ETH-5m.feather", SHARED_DATA / "XRP_USDT-5m.feather"]
CAPITAL = Decimal("20")
runner = CliRunner()

pytestmark = pytest.mark.skipif(
    not all(f.exists() for f in FILES), reason=f"real candles not found at {SHARED_DATA}"
)


def _one_sentence(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert lines, "expected a message"
    return " ".join(lines)


def _accounts(db: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(sa.text("SELECT account_id FROM accounts")).scalars())
    finally:
        engine.dispose()


def test_each_file_of_a_run_gives_what_it_gives_alone(tmp_path: Path) -> None:
    settings = load_settings()
    together = asyncio.run(
        run_replays(FILES, "trend", "aggressive", CAPITAL, settings, tmp_path / "multi")
    )
    assert [r.data for r in together] == FILES
    assert _accounts(tmp_path / "multi" / "replay.db") == [
        "replay-trend-XRP_ETH-5m",
        "replay-trend-XRP_USDT-5m",
    ]
    for path, multi in zip(FILES, together, strict=True):
        alone = asyncio.run(
            run_replay(path, "trend", "aggressive", CAPITAL, settings, tmp_path / path.stem)
        )
        assert multi.out_dir == tmp_path / "multi" / path.stem
        assert multi.violations == alone.violations == 0
        assert multi.summary == alone.summary
        # The same trades to the digit; only the account's name differs.
        trades = multi.trades_csv.read_text().replace(f"replay-trend-{path.stem},", "replay-trend,")
        assert trades == alone.trades_csv.read_text()
        assert multi.equity_csv.read_text() == alone.equity_csv.read_text()
        assert multi.equity_png.stat().st_size > 1000


def test_params_reach_the_agent(tmp_path: Path) -> None:
    settings = load_settings()
    default = asyncio.run(
        run_replay(FILES[0], "trend", "aggressive", CAPITAL, settings, tmp_path / "a")
    )
    fast = asyncio.run(
        run_replay(
            FILES[0],
            "trend",
            "aggressive",
            CAPITAL,
            settings,
            tmp_path / "b",
            params={"fast": "3", "slow": "7"},
        )
    )
    assert fast.summary.trades != default.summary.trades


def test_the_command_replays_files_and_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for path in FILES:
        shutil.copy(path, folder / path.name)
    (folder / "notes.txt").write_text("not candles")
    by_files = tmp_path / "by_files"
    by_dir = tmp_path / "by_dir"
    common = ["--agent", "trend", "--profile", "aggressive", "--capital", str(CAPITAL)]
    params = ["--param", "fast=8", "--param", "slow=21", "--no-chart"]
    data = ["--data", str(FILES[0]), "--data", str(FILES[1])]
    first = runner.invoke(app, ["replay", *data, "--out", str(by_files), *common, *params])
    assert first.exit_code == 0, first.output
    for path in FILES:
        assert f"Replay of {path.name}" in first.output
        assert (by_files / path.stem / "trades.csv").exists()
        assert (by_files / path.stem / "summary.json").exists()
        assert not (by_files / path.stem / "equity.png").exists()
    assert "Replay of 2 files" in first.output
    total = json.loads((by_files / "summary.json").read_text())
    assert set(total["files"]) == {p.name for p in FILES}
    assert set(total["by_quote"]) == {"ETH", "USDT"}

    second = runner.invoke(
        app, ["replay", "--data", str(folder), "--out", str(by_dir), *common, *params]
    )
    assert second.exit_code == 0, second.output
    for path in FILES:  # same files, same parameters: the same trades to the byte
        assert (by_dir / path.stem / "trades.csv").read_text() == (
            by_files / path.stem / "trades.csv"
        ).read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--param", "fats=8"], "Agent 'trend' has no parameter 'fats': choose from"),
        (["--param", "fast"], "--param takes NAME=VALUE"),
        (["--param", "fast=abc"], "'fast'"),
        (["--param", "fast=30", "--param", "slow=10"], "must be shorter than 'slow'"),
        (["--param", "fast=3", "--param", "fast=4"], "--param fast is given twice"),
        (["--agent", "nope", "--param", "fast=3"], "Unknown agent 'nope'"),
    ],
)
def test_bad_params_are_one_sentence_and_write_nothing(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["replay", "--data", str(FILES[0]), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert needle in _one_sentence(result.output)
    assert not out.exists()


def test_two_files_with_the_same_name_are_refused(tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copy(FILES[0], twin / FILES[0].name)
    out = tmp_path / "out"
    data = ["--data", str(FILES[0]), "--data", str(twin / FILES[0].name)]
    result = runner.invoke(app, ["replay", *data, "--out", str(out)])
    assert result.exit_code == 2
    assert "would both be replayed as XRP_ETH-5m" in _one_sentence(result.output)
    assert not out.exists()


def test_a_paper_replay_loads_neither_ccxt_nor_the_llm_stack_nor_alembic(tmp_path: Path) -> None:
    """The fixed cost of a replay: what only an exchange venue, an ``llm`` agent, a database
    that needs migrating, a PostgreSQL store, a Solana venue or the chart uses stays unloaded
    (a new database is created from the models, see ``tests/store/test_fresh_schema.py``)."""
    one = tmp_path / "BTC_USDT-1m.json"
    one.write_text(json.dumps([[1_700_000_000_000, 100.0, 101.0, 99.0, 100.5, 10.0]]))
    args = ["replay", "--data", str(one), "--out", str(tmp_path / "out"), "--no-chart"]
    heavy = (
        "ccxt",
        "aiohttp",
        "httpx",
        "alembic",
        "matplotlib",
        "rampart.llm.decider",
        "sqlalchemy.dialects.postgresql",
        "solders",
    )
    loaded = modules_after(args, tmp_path)
    assert sorted(m for m in heavy if m in loaded) == []
    assert (tmp_path / "out" / "trades.csv").exists()
