"""CONTRIBUTING.md: every command it tells a contributor to run exists, every file it points
at is there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")


def test_every_make_target_it_names_exists() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", TEXT))
    assert {"setup", "test", "lint", "lock", "audit", "release"} <= named
    assert named <= targets, (
        f"CONTRIBUTING.md names make targets that do not exist: {named - targets}"
    )


def test_every_file_it_points_at_exists() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", TEXT)
    paths = re.findall(r"`((?:scripts|tests|src|requirements|docs)/[\w./-]+)`", TEXT)
    missing = [p for p in [*links, *paths] if not (ROOT / p).exists()]
    assert not missing, missing
    assert (ROOT / "LICENSE").exists() and "Apache License 2.0" in TEXT
