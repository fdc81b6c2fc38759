"""``rampart --version``: the installed package's version, and the commit in a git checkout.

The version is the installed distribution's own (its metadata, written from pyproject.toml at
install time), so it is what pip says is installed. When Rampart runs from a git checkout
(an editable install, ``make setup``), the commit is added, marked when the work tree has
uncommitted changes: "0.2.0" alone cannot tell two builds of a branch apart.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import rampart

PACKAGE_DIR = Path(rampart.__file__).resolve().parent
GIT_TIMEOUT_S = 5.0


def package_version() -> str:
    try:
        return metadata.version("rampart")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return f"{rampart.__version__} (not installed)"


def _git(cwd: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - git by full path, fixed arguments, no shell
            [git, "-C", str(cwd), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def checkout_commit(package_dir: Path = PACKAGE_DIR) -> tuple[str, bool] | None:
    """(commit, whether the work tree has uncommitted changes) of the git checkout the package
    runs from, or None when it is not running from one (installed from a wheel, an image)."""
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    # Only Rampart's own checkout: a virtualenv inside some other repository says nothing.
    if top is None or (Path(top) / "src" / "rampart").resolve() != package_dir:
        return None
    commit = _git(package_dir, "rev-parse", "--short=12", "HEAD")
    if commit is None:
        return None
    dirty = _git(package_dir, "status", "--porcelain", "--untracked-files=no")
    return commit, bool(dirty)


def version_text(package_dir: Path = PACKAGE_DIR) -> str:
    text = f"rampart {package_version()}"
    found = checkout_commit(package_dir)
    if found is None:
        return text
    commit, dirty = found
    return text + f" (commit {commit}{', with uncommitted changes' if dirty else ''})"
