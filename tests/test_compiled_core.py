"""The compiled core (``make setup``, ``scripts/build_compiled.py``): the replay goldens come out
byte for byte the same from it, and a command runs it only while it matches the source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rampart.cli.compiled_core import STAMP, default_build, source_stamp, stale

from .conftest import IN_CI, SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "rampart"
BUILD = default_build(SRC)

# Which build a fresh interpreter's `rampart` imports after the script's first step.
WHICH = (
    "import sys\n"
    "from pathlib import Path\n"
    "from rampart.cli.compiled_core import prefer_compiled\n"
    "used = prefer_compiled(Path(sys.argv[1]))\n"
    "import rampart.trading.engine as engine\n"
    "print(used, engine.__file__)\n"
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAMPART_PURE")}
    return {**env, **extra}


def _fresh_build() -> Path:
    """The build ``make setup`` made; in CI it must be there and fresh, elsewhere the test
    is skipped without it."""
    why = stale(BUILD, SRC)
    if why is not None:
        message = f"compiled core not usable ({why}); `make setup` builds it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return BUILD


def _which(build: Path, **env: str) -> tuple[str, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", WHICH, str(build)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(**env),
    )
    assert done.returncode == 0, done.stderr
    used, path = done.stdout.split()
    return used, path, done.stderr


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real candles not found at {SHARED_DATA}")
def test_the_goldens_come_out_the_same_from_the_compiled_core() -> None:
    build = _fresh_build()
    code = (
        "import sys, pytest\n"
        "import rampart.trading.engine, rampart.domain.positions\n"
        "for mod in (rampart.trading.engine, rampart.domain.positions):\n"
        "    assert mod.__file__.endswith('.so'), mod.__file__\n"
        "sys.exit(pytest.main(sys.argv[1:]))\n"
    )
    args = ["tests/test_replay_golden.py", "-n", "0", "-p", "no:randomly", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=_env(PYTHONPATH=str(build)),
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout, done.stdout[-2000:]


def test_a_command_runs_the_fresh_build() -> None:
    build = _fresh_build()
    used, path, said = _which(build)
    assert (used, said) == ("True", "")
    assert Path(path).is_relative_to(build) and path.endswith(".so")


def test_rampart_pure_runs_the_source_whatever_is_built() -> None:
    build = _fresh_build()
    used, path, said = _which(build, RAMPART_PURE="1")
    assert (used, said) == ("False", "")
    assert Path(path).is_relative_to(SRC) and path.endswith(".py")


def test_a_stale_build_is_not_run_and_says_so_in_one_line(tmp_path: Path) -> None:
    """A build whose stamp names one source file with other content than it has now (as
    after an edit) is left alone: the command runs the source and says why."""
    build = tmp_path / "compiled"
    (build / "rampart").mkdir(parents=True)
    shutil.copy(SRC / "__init__.py", build / "rampart" / "__init__.py")
    stamp = source_stamp(SRC)
    size, _mtime, _sha = stamp["files"]["trading/engine.py"]
    stamp["files"]["trading/engine.py"] = [size, 0, "0" * 64]
    (build / STAMP).write_text(json.dumps(stamp))
    used, path, said = _which(build)
    assert used == "False" and Path(path).is_relative_to(SRC)
    assert said.splitlines() == [
        "compiled core not used (trading/engine.py changed since it was built); "
        "running the pure source (make setup builds it)"
    ]


def _tree(root: Path) -> Path:
    src = root / "rampart"
    (src / "trading").mkdir(parents=True)
    (src / "__init__.py").write_text('"""pkg"""\n')
    (src / "trading" / "engine.py").write_text("X = 1\n")
    (src / "defaults.yaml").write_text("a: 1\n")
    (src / "trading" / "__pycache__").mkdir()
    (src / "trading" / "__pycache__" / "engine.cpython-311.pyc").write_bytes(b"\0")
    return src


def test_the_stamp_sees_every_change_of_content_and_no_touch(tmp_path: Path) -> None:
    src = _tree(tmp_path)
    build = tmp_path / "build"
    build.mkdir()
    assert stale(build, src) == f"no build stamp in {build}"
    (build / STAMP).write_text(json.dumps(source_stamp(src)))
    assert stale(build, src) is None
    engine = src / "trading" / "engine.py"
    os.utime(engine, ns=(1, 1))  # a checkout or touch: same content, another time
    assert stale(build, src) is None
    engine.write_text("X = 2\n")  # same size, other content
    assert stale(build, src) == "trading/engine.py changed since it was built"
    engine.write_text("X = 1\n")
    (src / "defaults.yaml").write_text("a: 22\n")  # a data file the build copies
    assert stale(build, src) == "defaults.yaml changed since it was built"
    (src / "defaults.yaml").write_text("a: 1\n")
    (src / "trading" / "new.py").write_text("")
    assert stale(build, src) == "files added to or removed from the source since it was built"
    (src / "trading" / "new.py").unlink()
    (src / "trading" / "__pycache__" / "other.cpython-311.pyc").write_bytes(b"\0")
    assert stale(build, src) is None  # bytecode is not source
    stamp = json.loads((build / STAMP).read_text())
    (build / STAMP).write_text(json.dumps({**stamp, "python": "2.7"}))
    assert stale(build, src) == "built by another Python"


def test_a_failed_build_says_one_line_and_exits_0(tmp_path: Path) -> None:
    """No C compiler on the PATH: make setup goes on with the pure source."""
    out = tmp_path / "compiled"
    out.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_compiled.py"),
            "--or-pure",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(PATH=str(tmp_path), CC="no-such-compiler"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "compiled core not built (no C compiler (gcc) found); running the pure source"
    ]
    assert not out.exists()  # nothing half built is left to be run
