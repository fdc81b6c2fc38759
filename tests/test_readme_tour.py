"""The README's tour is what CI runs, and it runs as written on a fresh clone.

``scripts/tour.sh`` takes its commands from README.md's tour block (it substitutes only what
the README cannot fix: ports, absolute paths, the versions and keys a step prints), so a
command added to, changed in or left out of the README is what the tour runs. Its plan
(``TOUR_PLAN=1``) lists the steps without running any.

The tour's ``wallet create`` needs a master key: the README says how to make one, on the line
before, as docs/operators/solana.md does, and the two lines work as written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TOUR = ROOT / "scripts" / "tour.sh"


def tour_block(text: str) -> list[str]:
    """The tour's commands as a reader copies them: comments dropped, continued lines joined."""
    block = text.split("## A five-minute tour", 1)[1].split("```bash", 1)[1].split("\n```", 1)[0]
    commands: list[str] = []
    pending = ""
    for raw in block.splitlines():
        line = re.sub(r"\s+#\s.*$", "", raw).strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        commands.append(pending + line)
        pending = ""
    return commands


def plan(root: Path) -> list[str]:
    """The commands ``tour.sh`` in ``root`` would run (its plan), one per step."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    done = subprocess.run(
        ["bash", str(root / "scripts" / "tour.sh")],
        env={**env, "TOUR_PLAN": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.split("  ", 1)[1] for line in done.stdout.splitlines() if line.startswith("run ")]


def _copy(tmp_path: Path, readme: str) -> Path:
    """A project root holding just the README and the tour script, beside a ../shared/data."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    shutil.copy(TOUR, root / "scripts" / "tour.sh")
    (root / "README.md").write_text(readme)
    return root


def test_the_tour_runs_every_readme_command_in_order(tmp_path: Path) -> None:
    text = README.read_text()
    wanted = tour_block(text)
    steps = plan(_copy(tmp_path, text))
    assert len(steps) == len(wanted)
    # Only ports, absolute paths and what a step prints are substituted.
    for step, command in zip(steps, wanted, strict=True):
        assert step.split()[:2] == command.split()[:2], (step, command)
    assert any("--param fast=10" in s for s in steps)  # once left out of the tour


def test_a_command_added_to_the_readme_is_run_by_the_tour(tmp_path: Path) -> None:
    text = README.read_text()
    added = ".venv/bin/rampart agents --help        # a newcomer's question"
    changed = text.replace(".venv/bin/rampart agents ", added + "\n.venv/bin/rampart agents ", 1)
    assert changed != text
    steps = plan(_copy(tmp_path, changed))
    assert ".venv/bin/rampart agents --help" in steps
    assert len(steps) == len(tour_block(changed))


def test_the_readme_makes_a_master_key_before_wallet_create(tmp_path: Path) -> None:
    commands = tour_block(README.read_text())
    create = next(i for i, c in enumerate(commands) if " wallet create " in f"{c} ")
    key = [c for c in commands[:create] if c.startswith("export RAMPART_MASTER_KEY=")]
    assert key, "no master key is made before `wallet create`"
    # As written, from a fresh clone's root: nothing set beforehand, the default store.
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    done = subprocess.run(
        ["bash", "-ec", f"{key[-1]}\n{commands[create]}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"public key [1-9A-HJ-NP-Za-km-z]{32,44}", done.stdout), done.stdout
