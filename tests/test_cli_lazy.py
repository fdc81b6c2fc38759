"""The ``rampart`` root loads a sub-command's module only when that command is run
(rampart/cli/lazy.py), and still lists, runs and suggests every command."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rampart.cli.lazy import LAZY
from rampart.cli.main import app

from .cli_process import modules_after

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")}
    assert set(LAZY) | {"run", "agents", "data", "config"} <= listed


def test_a_mistyped_lazy_command_is_suggested() -> None:
    result = runner.invoke(app, ["rolout", "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Did you mean 'rollout'?" in result.output


def test_a_lazy_group_keeps_its_own_sub_commands() -> None:
    result = runner.invoke(app, ["ops", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "kill-drill" in result.output and "export" in result.output


def test_a_command_loads_only_its_own_module(tmp_path: Path) -> None:
    env = {"RAMPART_STORE__URL": f"sqlite:///{tmp_path / 'r.db'}", "PATH": "/usr/bin:/bin"}
    loaded = modules_after(["report", "list"], tmp_path, env)
    assert "rampart.cli.report" in loaded
    for other in ("rampart.cli.replay", "rampart.cli.sim", "rampart.cli.rollout"):
        assert other not in loaded, sorted(m for m in loaded if m.startswith("rampart.cli."))
    # The tables are Core tables: reading them never needs the ORM (a fifth of the command's
    # instructions when the models were mapped classes).
    assert "sqlalchemy.orm" not in loaded


def test_the_rollout_commands_load_neither_structlog_nor_the_risk_checks(tmp_path: Path) -> None:
    # structlog pulls rich's tracebacks and pygments: a tenth of a read-only command's start.
    # The rollout controller (loaded by `rollout status` and `go-nogo`) logs through a
    # LazyLogger, which imports it only when a line is logged.
    env = {"RAMPART_STORE__URL": f"sqlite:///{tmp_path / 'r.db'}", "PATH": "/usr/bin:/bin"}
    loaded = modules_after(["rollout", "status"], tmp_path, env)
    assert "rampart.rollout.controller" in loaded
    assert "structlog" not in loaded
    # The controller needs a breaker's Trip, not the pre-trade checks: the risk package's
    # __init__ imports nothing, so naming rampart.risk.breakers loads that module alone.
    assert "rampart.risk.breakers" in loaded
    assert "rampart.risk.checks" not in loaded
