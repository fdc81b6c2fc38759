"""Builds the optional compiled core: the strictly typed packages through mypyc.

The source tree and the editable install stay pure Python. This copies ``src/rampart`` to
``var/compiled/rampart``, compiles the strict packages' modules there in place (mypyc from the
mypy the lock pins, so the compiler is the type checker CI already runs) and leaves every other
module as its ``.py`` copy. A process uses the compiled build only when asked:

    .venv/bin/python scripts/build_compiled.py            # or: make compiled
    PYTHONPATH=var/compiled .venv/bin/rampart replay ...  # the compiled core
    PYTHONPATH=var/compiled .venv/bin/python -m pytest tests/domain ...

``PYTHONPATH`` comes before the editable install's path on ``sys.path``, so ``import rampart``
finds the copy, and an extension module comes before a ``.py`` file of the same name in one
directory. The build checks that the compiled modules are the ones imported.

Modules mypyc rejects, miscompiles, or that code outside the strict packages needs as plain
Python classes are left out (``EXCLUDED``, each with its reason), so the build needs no change
to the source. The measurement and the decision are in docs/authors/performance-history.md ("A
compiled core (mypyc)").
"""

from __future__ import annotations

import argparse
import configparser
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "rampart"
OUT = ROOT / "var" / "compiled"
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


def strict_modules() -> list[str]:
    """Every module of the strict packages, relative to ``src/rampart``."""
    return [
        path.relative_to(SRC).as_posix()
        for package in PACKAGES
        for path in sorted((SRC / package).rglob("*.py"))
    ]


def modules(extra: list[str]) -> list[str]:
    """The modules to compile: the strict packages' but the excluded, and ``extra``."""
    return [m for m in strict_modules() if m not in EXCLUDED] + extra


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
    shutil.copytree(SRC, out / "rampart", ignore=shutil.ignore_patterns("__pycache__", "*.so"))


def compile_modules(out: Path, chosen: list[str], opt_level: str, jobs: int) -> None:
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
    subprocess.run([sys.executable, "-c", code, *paths], cwd=out, check=True)


def check_imports(out: Path, chosen: list[str]) -> None:
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
        [sys.executable, "-c", code, ",".join(names), ",".join(every)], env=env, check=True
    )


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
    args = parser.parse_args()
    if args.src is not None:
        global SRC  # every step reads the one source tree
        SRC = args.src.resolve()
    out = args.out.resolve()
    extra = [m.strip() for m in args.extra.split(",") if m.strip()]
    missing = [m for m in extra if not (SRC / m).is_file()]
    if missing:
        raise SystemExit(f"not a module under src/rampart: {', '.join(missing)}")
    chosen = modules(extra)
    started = time.monotonic()
    copy_tree(out)
    compile_modules(out, chosen, args.opt, args.jobs)
    # The copied .py files of the modules left as Python: bytecode now, not at every start.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(out / "rampart")], check=True)
    check_imports(out, chosen)
    print(
        f"compiled {len(chosen)} modules into {out} ({len(EXCLUDED)} of the strict packages "
        f"left as Python) in {time.monotonic() - started:.0f} s; use it with PYTHONPATH={out}"
    )


if __name__ == "__main__":
    main()
