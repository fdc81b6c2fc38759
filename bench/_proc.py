"""Whole-process measurement for the comparisons with other engines.

Each side runs as the command a user types, in a fresh process; the parent measures it from
outside: wall seconds from start to exit, user + system CPU seconds of the process and every
child it waited for (``os.wait4``, so the chart process and any forked writer count), the
peak RSS of its largest process (``ru_maxrss``) and the peak of the whole tree's summed RSS,
sampled every 50 ms with psutil. Nothing is read from inside the measured process.

The other engines live in virtual environments of their own, ``var/peers/<name>``, made on
first use with the pinned version (the ratios drift with versions); where the package cannot
be installed the bench says "peer not installed" and prints Rampart's figures alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "var" / "peers"
PEER_RESULTS = PEERS / "results.json"
"""Peer figures too slow to measure on every run (NautilusTrader at 1M bars takes ~10 min),
kept per machine with their date and reused: ``--rerun-peers`` measures them again."""


@dataclass
class Measured:
    wall: float
    cpu: float
    rss_mb: float
    """Peak RSS of the largest single process (ru_maxrss)."""
    tree_mb: float
    """Peak of the summed RSS of the process and its children, sampled every 50 ms."""
    returncode: int
    stdout: str = ""
    stderr: str = ""

    def failure(self) -> str:
        tail = (self.stderr or self.stdout).strip().splitlines()[-3:]
        return f"exit {self.returncode}: {' / '.join(tail)}"

    def figures(self) -> dict[str, float]:
        out = asdict(self)
        return {k: out[k] for k in ("wall", "cpu", "rss_mb", "tree_mb")}


def _tree_rss(root: Any) -> int:
    import psutil

    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def measure(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, pin: str | None = None
) -> Measured:
    """Run ``cmd`` to its end (pinned to the CPUs ``pin`` with taskset when given)."""
    import psutil  # here: the peers' children import this module in their own venvs

    if pin:
        cmd = ["taskset", "-c", pin, *cmd]
    out_path, err_path = cwd / ".stdout", cwd / ".stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        watched = psutil.Process(proc.pid)
        tree = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree = max(tree, _tree_rss(watched))
            time.sleep(0.05)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=usage.ru_maxrss / 1e3,
        tree_mb=max(tree, usage.ru_maxrss * 1000) / 1e6,
        returncode=proc.returncode,
        stdout=out_path.read_text(),
        stderr=err_path.read_text(),
    )


def show(cmd: list[str]) -> str:
    return shlex.join(str(part) for part in cmd)


def machine_lines() -> list[str]:
    """What the figures depend on: Python, cores, the load now, CPython's speed."""
    from _util import machine_speed

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"python {sys.version.split()[0]} ({interpreter_build()}); {machine_kind()}; "
        f"load average {load}",
        machine_speed(),
    ]


def interpreter_build() -> str:
    """Which CPython runs the bench, and whether its core is a shared library: how CPython was
    compiled moves pure-Python speed by 10-30 % (with or without profile-guided and link-time
    optimisation; a shared libpython, as pyenv builds, is slower again), so the same code on
    the same machine reads differently under another interpreter. The peers' environments
    are made with the interpreter Rampart's was made with (:func:`base_interpreter`)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        maps = ""
    core = "shared libpython" if "libpython" in maps else "static libpython"
    return f"{core}; {Path(sys.executable).resolve()}"


def base_interpreter() -> str:
    """The interpreter Rampart's environment was made from (``make setup``'s ``PY``), which
    the peers' environments are made from too: with ``PY`` set to another interpreter, a
    peer made from ``python3`` on PATH would run on a different build, and a build moves
    pure-Python speed by up to a half on these machines (Rampart's more than the peers')."""
    return str(Path(getattr(sys, "_base_executable", "") or sys.executable).resolve())


def env_state(python: Path, module: str) -> tuple[str, str] | None:
    """The version of ``module`` in a peer's or tool's environment and the interpreter it was
    made from, or None when it cannot say (not made yet, or broken)."""
    probe = (
        f"import sys, pathlib, {module}; print({module}.__version__); "
        "print(pathlib.Path(getattr(sys, '_base_executable', '') or sys.executable).resolve())"
    )
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    return (lines[0], lines[1]) if done.returncode == 0 and len(lines) == 2 else None


def peer_python(name: str, pinned: str, module: str) -> tuple[Path | None, str]:
    """The python of ``var/peers/<name>`` with ``pinned`` (``pkg==version``) installed on
    Rampart's interpreter (:func:`base_interpreter`), made on first use and remade when it
    was made from another, and the version its module reports; or None and, in words, why
    not."""
    home = PEERS / name
    want = pinned.split("==")[1]
    return env_python(home, pinned, module, lambda state: state == (want, base_interpreter()))


def env_python(
    home: Path, package: str, module: str, usable: Callable[[tuple[str, str]], bool]
) -> tuple[Path | None, str]:
    """The python of the environment ``home`` with ``package`` installed, used as it is when
    ``usable`` accepts its :func:`env_state`, else made again from Rampart's interpreter
    (:func:`base_interpreter`); and the version its module reports, or None and why not."""
    python = home / "bin" / "python"
    base = base_interpreter()
    state = env_state(python, module) if python.exists() else None
    if state is not None and usable(state):
        return python, state[0]
    why = f" (it was made from {state[1]})" if state is not None and state[1] != base else ""
    print(f"installing {package} into {home} on {base}{why} ...", flush=True)
    for step in (
        [base, "-m", "venv", "--clear", str(home)],
        [str(home / "bin" / "pip"), "install", "-q", package],
    ):
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-2:]
            return None, " / ".join(tail) or f"exit {done.returncode}"
    state = env_state(python, module)
    if state is None:
        return None, f"{module} does not import in {home}"
    return python, state[0]


def machine_kind(cpuinfo: str | None = None) -> str:
    """The kind of machine a peer's figure holds for: the CPU's name, its family and model
    numbers, and the cores. Cloud machines often name every generation alike ("AMD EPYC"), and
    a peer's speed is not the same across generations: NautilusTrader's 1M-bar run took
    545-625 CPU s on one "AMD EPYC x2" and 269 on another (family 26), where Rampart's moved by
    a fifth, so a figure recorded on one must not be reused on the other."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for text in cpuinfo.splitlines():
        name, sep, value = text.partition(":")
        name = name.strip()
        if sep and name in ("model name", "cpu family", "model") and name not in fields:
            fields[name] = value.strip()
    kind = fields.get("model name", "unknown cpu")
    if "cpu family" in fields and "model" in fields:
        kind += f" (family {fields['cpu family']} model {fields['model']})"
    return f"{kind} x{os.cpu_count()}"


def cached_peer(key: str) -> dict[str, Any] | None:
    """A peer's figures recorded earlier on this kind of machine and on this interpreter (see
    :func:`base_interpreter`), with their date."""
    try:
        table = json.loads(PEER_RESULTS.read_text())
    except (OSError, ValueError):
        return None
    found = table.get(machine_kind(), {}).get(key)
    if not isinstance(found, dict) or found.get("interpreter") != base_interpreter():
        return None
    return found


def record_peer(key: str, figures: dict[str, Any]) -> None:
    try:
        table = json.loads(PEER_RESULTS.read_text())
    except (OSError, ValueError):
        table = {}
    entry = dict(
        figures,
        interpreter=base_interpreter(),
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
    )
    table.setdefault(machine_kind(), {})[key] = entry
    PEER_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    PEER_RESULTS.write_text(json.dumps(table, indent=2))


class BusyCore:
    """A process spinning on one core for the whole of a run: the "other core busy" case."""

    def __init__(self, core: str | None) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._core = core

    def __enter__(self) -> BusyCore:
        if self._core is not None:
            cmd = [sys.executable, "-c", "while True: pass"]
            self._proc = subprocess.Popen(["taskset", "-c", self._core, *cmd])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
