"""The ``rampart`` root loads a sub-command's module only when that command is run
(rampart/cli/lazy.py), and still lists, runs and suggests every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from rampart.cli.lazy import LAZY
from rampart.cli.main import app

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
    code = (
        "import sys; sys.argv = ['rampart', 'report', 'list'];"
        " from rampart.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('rampart.cli.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,
        env={"RAMPART_STORE__URL": f"sqlite:///{tmp_path / 'r.db'}", "PATH": "/usr/bin:/bin"},
    )
    loaded = out.stdout.strip().splitlines()[-1]
    assert "rampart.cli.report" in loaded, out.stdout + out.stderr
    for other in ("rampart.cli.replay", "rampart.cli.sim", "rampart.cli.rollout"):
        assert other not in loaded, loaded
