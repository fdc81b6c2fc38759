"""The static security scan in `make lint`: ruff's flake8-bandit rules (S) on the code that
ships, each finding fixed or justified where it stands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")

RISKY = """\
import subprocess
import yaml


def run(command: str) -> None:
    subprocess.call(command, shell=True)


def load(text: str) -> object:
    return yaml.load(text)


API_PASSWORD = "hunter2hunter2"
"""


def _scan(code: str, as_path: str) -> set[str]:
    done = subprocess.run(
        [str(RUFF), "check", "--output-format", "concise", "--stdin-filename", as_path, "-"],
        input=code,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return set(re.findall(r": (S\d{3}) ", done.stdout))


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed beside this Python")
def test_lint_finds_insecure_code_in_what_ships() -> None:
    found = _scan(RISKY, "src/rampart/probe.py")
    assert {"S602", "S506", "S105"} <= found, found
    # A justified line passes; the justification stays next to it.
    justified = 'TOKEN_MARK = "rp_"  # noqa: S105 - a public prefix\n'
    assert _scan(justified, "src/rampart/probe.py") == set()


def test_make_lint_runs_the_scan_over_the_source() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"ruff check src\b", lint), lint
