"""Builds the compiled core: the per-order path of the strictly typed packages through mypyc.

The source tree and the editable install stay pure Python. This copies ``src/rampart`` to
``var/compiled/rampart``, compiles the chosen modules there in place (mypyc from the mypy the
lock pins, so the compiler is the type checker CI already runs) and leaves every other module
as its ``.py`` copy, then writes the source's stamp (:mod:`rampart.cli.compiled_core`). The
``rampart`` script runs the build while the stamp matches the source; ``RAMPART_PURE=1`` runs
the source. ``make setup`` runs this with ``--when-stale --or-pure``; ``make compiled`` builds
again whatever the stamp says:

    .venv/bin/python scripts/build_compiled.py            # or: make compiled
    PYTHONPATH=var/compiled .venv/bin/python -m pytest tests/domain ...  # in process

``PYTHONPATH`` comes before the editable install's path on ``sys.path``, so ``import rampart``
finds the copy, and an extension module comes before a ``.py`` file of the same name in one
directory. The build checks that the compiled modules are the ones imported.

Modules mypyc rejects, miscompiles, or that code outside the strict packages needs as plain
Python classes are left out (``EXCLUDED``, each with its reason), so the build needs no change
to the source; so are the packages off the per-order path (``LEFT_OUT``), to keep the build
within CI's time. The measurements are in docs/authors/performance.md.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from rampart.cli.compiled_core import (
    IGNORED_DIRS,
    IGNORED_SUFFIXES,
    STAMP,
    default_build,
    source_stamp,
    stale,
)

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "rampart"
OUT = default_build(SRC)
LOG = ROOT / "var" / "compiled-build.log"
PACKAGES = ("domain", "risk", "agents", "rollout/rules", "trading")
"""The strict sections of mypy.ini: mypyc needs complete, checked annotations."""

EXCLUDED: dict[str, str] = {
    "agents/registry.py": (
        "reads `name`, `space` and `description` through the agent classes; mypyc makes them "
        "instance attributes (error: cannot access instance attribute through class object)"
    ),
    "agents/ml.py": (
        "mypyc 1.20.2 crashes (AssertionError in emit_method_call) on `self._features.atr`, "
        "an attribute of a Protocol"
    ),
    "agents/base.py": (
        "`@runtime_checkable` on the `Agent` Protocol raises TypeError at import: the class "
        "mypyc builds is not seen as a Protocol"
    ),
    "trading/ports.py": "the same: every port is a `@runtime_checkable` Protocol",
    "trading/bracket.py": (
        "its `IllegalBracketMove` (a `RuntimeError`) and `GuardedView` (a `set`) inherit from "
        "builtin types, which a compiled class cannot (inheriting from most builtin types is "
        "unimplemented)"
    ),
    "domain/orders.py": (
        "`Order.snapshot` copies an order through `object.__new__(Order)`, which a compiled "
        "class refuses (TypeError: not safe, use Order.__new__())"
    ),
    "trading/agent_room.py": (
        "mypyc names the C field of its `_thread` attribute `__thread`, a C keyword (gcc: "
        "expected identifier before '__thread')"
    ),
    "trading/reconcile/overlap.py": "an async generator, which mypyc does not implement",
    **{
        f"agents/{name}.py": (
            "its `name`, `description` and `space`, set in the class body, become instance "
            "attributes in a compiled class; the registry and the CLI read them through the class"
        )
        for name in ("trend", "mean_reversion", "breakout", "llm")
    },
}


LEFT_OUT: dict[str, str] = {
    package: "off the per-order path (it runs at a start, a takeover or an operator's ask): "
    "left as Python so that the build stays within CI's time"
    for package in ("trading/reconcile/", "agents/templates/", "rollout/rules/")
}
"""Packages of the strict sections not compiled, by path prefix."""


def strict_modules() -> list[str]:
    """Every module of the strict packages, relative to ``src/rampart``."""
    return [
        path.relative_to(SRC).as_posix()
        for package in PACKAGES
        for path in sorted((SRC / package).rglob("*.py"))
    ]


def modules(extra: list[str]) -> list[str]:
    """The modules to compile: the strict packages' but the excluded, and ``extra``."""
    return [
        m for m in strict_modules() if m not in EXCLUDED and not m.startswith(tuple(LEFT_OUT))
    ] + extra


def dotted(module: str) -> str:
    return "rampart." + module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def mypy_config(out: Path) -> Path:
    """mypy.ini for the build: the project's sections, rooted at the copy. The modules not
    compiled are followed silently (the non-strict ones still have baseline errors that
    `scripts/typecheck.py` counts; they are not this build's business)."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "mypy.ini")
    parser["mypy"]["mypy_path"] = "."
    parser["mypy"].pop("files", None)
    # The build names only some modules: the other sections are unused, which is no error here.
    parser["mypy"]["warn_unused_configs"] = "False"
    parser["mypy-rampart.*"] = {"follow_imports": "silent"}
    path = out / "mypy.ini"
    with path.open("w") as f:
        parser.write(f)
    return path


def copy_tree(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    patterns = [*IGNORED_DIRS, *(f"*{suffix}" for suffix in IGNORED_SUFFIXES)]
    shutil.copytree(SRC, out / "rampart", ignore=shutil.ignore_patterns(*patterns))


def compile_modules(
    out: Path, chosen: list[str], opt_level: str, jobs: int, log: IO[str] | None
) -> None:
    """mypyc's own setuptools driver, run in ``out`` so that module names come from the copy."""
    paths = [f"rampart/{m}" for m in chosen]
    config = mypy_config(out)
    code = (
        "import sys\n"
        "from setuptools import setup\n"
        "from mypyc.build import mypycify\n"
        "paths = sys.argv[1:]\n"
        "setup(name='rampart-compiled', script_args=['build_ext', '--inplace', '-j', "
        f"'{jobs}', '--build-temp', 'build/temp', '--build-lib', 'build/lib'],\n"
        f"      ext_modules=mypycify(['--config-file', {str(config)!r}, *paths],\n"
        f"                           opt_level={opt_level!r}, debug_level='0',\n"
        "                           multi_file=True))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, *paths],
        cwd=out,
        check=True,
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
    )


def check_imports(out: Path, chosen: list[str], log: IO[str] | None) -> None:
    """Imports every module of the strict packages (and the extra ones) from the build. Fails
    when one cannot be imported, or is not the compiled or the Python module it should be."""
    names = [dotted(m) for m in chosen]
    every = [dotted(m) for m in dict.fromkeys(strict_modules() + chosen)]
    code = (
        "import importlib, sys\n"
        "compiled = set(sys.argv[1].split(','))\n"
        "for name in sys.argv[2].split(','):\n"
        "    mod = importlib.import_module(name)\n"
        "    so = mod.__file__.endswith('.so')\n"
        "    if so != (name in compiled):\n"
        "        sys.exit(f'{name} loaded from {mod.__file__}')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(out))
    subprocess.run(
        [sys.executable, "-c", code, ",".join(names), ",".join(every)],
        env=env,
        check=True,
        stdout=log,
        stderr=log,
    )


def write_stamp(out: Path, stamp: dict[str, Any]) -> None:
    """The source's stamp, once the copy is checked to hold the files it names."""
    for rel, (_size, _mtime, sha) in stamp["files"].items():
        if hashlib.sha256((out / "rampart" / rel).read_bytes()).hexdigest() != sha:
            raise RuntimeError(f"{rel} changed while the build ran")
    (out / STAMP).write_text(json.dumps(stamp))


def build(out: Path, chosen: list[str], opt: str, jobs: int, log: IO[str] | None) -> None:
    stamp = source_stamp(SRC)  # before the copy: a file edited meanwhile fails the check
    copy_tree(out)
    compile_modules(out, chosen, opt, jobs, log)
    # The copied .py files of the modules left as Python: bytecode now, not at every start.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(out / "rampart")],
        check=True,
        stdout=log,
        stderr=log,
    )
    check_imports(out, chosen, log)
    write_stamp(out, stamp)


def why_not() -> str | None:
    """What stops a build before it starts (no C compiler, no mypyc, no setuptools, which the
    venv of Python 3.11 brings and later ones do not), in words."""
    if not (shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")):
        return "no C compiler (gcc) found"
    for module, name in (("mypyc.build", "mypyc"), ("setuptools", "setuptools")):
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{name} is not installed"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="build directory (var/compiled)")
    parser.add_argument("--opt", default="3", help="C optimisation level (mypyc's opt_level)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="C compiler jobs")
    parser.add_argument(
        "--extra",
        default="",
        help="more modules to compile, comma-separated, relative to src/rampart (an experiment: "
        "outside the strict packages), e.g. venues/matching.py",
    )
    parser.add_argument(
        "--src",
        type=Path,
        help="compile another copy of src/rampart (an experiment with changed sources)",
    )
    parser.add_argument(
        "--when-stale", action="store_true", help="build only when no fresh build is there"
    )
    parser.add_argument(
        "--or-pure",
        action="store_true",
        help="on any failure say why in one line, remove the build and exit 0 (make setup); "
        "the compiler's output goes to var/compiled-build.log",
    )
    args = parser.parse_args()
    if args.src is not None:
        global SRC  # every step reads the one source tree
        SRC = args.src.resolve()
    out = args.out.resolve()
    extra = [m.strip() for m in args.extra.split(",") if m.strip()]
    missing = [m for m in extra if not (SRC / m).is_file()]
    if missing:
        raise SystemExit(f"not a module under src/rampart: {', '.join(missing)}")
    if args.when_stale and stale(out, SRC) is None:
        return
    chosen = modules(extra)
    started = time.monotonic()
    if not args.or_pure:
        build(out, chosen, args.opt, args.jobs, None)
    else:
        reason = why_not()
        if reason is None:
            LOG.parent.mkdir(parents=True, exist_ok=True)
            with LOG.open("w") as log:
                try:
                    build(out, chosen, args.opt, args.jobs, log)
                except Exception as exc:  # any failure at all means: run the source
                    print(f"{type(exc).__name__}: {exc}", file=log)
                    reason = f"the build failed: {LOG.relative_to(ROOT)} says why"
        if reason is not None:
            shutil.rmtree(out, ignore_errors=True)
            print(f"compiled core not built ({reason}); running the pure source")
            return
    print(
        f"compiled core: {len(chosen)} modules built into {out} in "
        f"{time.monotonic() - started:.0f} s ({len(EXCLUDED)} modules and "
        f"{len(LEFT_OUT)} packages of the strict sections left as Python)"
    )


if __name__ == "__main__":
    main()
