"""``rampart --version``: the installed version, and the commit when run from a checkout."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rampart
from rampart.cli.main import app
from rampart.cli.version import PACKAGE_DIR, checkout_commit, version_text

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_version_is_the_package_metadata_and_agrees_everywhere() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert metadata.version("rampart") == declared == rampart.__version__
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"rampart {declared}")


def test_in_a_git_checkout_the_commit_is_shown() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not running from a git checkout")
    if (ROOT / "src" / "rampart").resolve() != PACKAGE_DIR:
        pytest.skip("rampart is installed from elsewhere than this checkout")
    head = _git("rev-parse", "--short=12", "HEAD")
    found = checkout_commit()
    assert found is not None and found[0] == head
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    assert found[1] is dirty
    result = CliRunner().invoke(app, ["--version"])
    assert f"(commit {head}" in result.output


def test_outside_a_checkout_there_is_no_commit(tmp_path: Path) -> None:
    # An installed wheel: the package directory is not Rampart's own checkout, even when it
    # sits inside some other git repository.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    package = tmp_path / "site-packages" / "rampart"
    package.mkdir(parents=True)
    assert checkout_commit(package) is None
    assert version_text(package) == f"rampart {metadata.version('rampart')}"
