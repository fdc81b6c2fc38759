"""Run one ``rampart`` command in a fresh interpreter and see which modules it loaded: what a
command imports is its start-up cost, and only a new process shows it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def modules_after(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """The names in ``sys.modules`` once ``rampart ARGS`` has run (and exited 0) in ``cwd``."""
    code = (
        "import json, sys\n"
        "from rampart.cli.main import app\n"
        "try:\n"
        f"    app({args!r}, prog_name='rampart')\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))
