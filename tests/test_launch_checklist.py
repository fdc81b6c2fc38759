"""docs/operations/launch-checklist.md and the operations pages it links name only what
exists: every page or file they link, every ``rampart`` command they tell an operator to run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    "docs/operations/launch-checklist.md",
    "docs/operations/launch-day.md",
    "docs/operations/on-call.md",
    "docs/operations/staging.md",
    "docs/operations/rollback.md",
    "docs/operations/postmortem-template.md",
    "docs/operations/lessons-learned-template.md",
    "docs/operators/people.md",
]
PATH = re.compile(r"\b((?:docs|deploy|tests)/[\w./-]+\.(?:md|yaml|yml|py))")
COMMAND = re.compile(r"`rampart ([a-z][a-z -]*?)(?: [A-Z+\-$]|`)")
LATER = {"--version"}
"""Housekeeping commands, checked elsewhere: not checked here."""


def _text(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


@pytest.mark.parametrize("page", PAGES)
def test_the_files_a_page_names_exist(page: str) -> None:
    for path in PATH.findall(_text(page)):
        assert (ROOT / path).exists(), f"{page} names {path}, which does not exist"


def test_the_commands_the_pages_name_exist() -> None:
    commands = {m.strip() for page in PAGES for m in COMMAND.findall(_text(page))}
    assert {"incidents postmortem", "incidents eta", "report team", "go-nogo"} <= commands
    runner = CliRunner()
    for command in sorted(commands - LATER):
        done = runner.invoke(app, [*command.split(), "--help"])
        assert done.exit_code == 0, f"`rampart {command}` is named but does not exist"
