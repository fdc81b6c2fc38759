"""What the lookahead sandbox lets a library do under an honest agent that fits a model or reads
a CSV, and what it still refuses: a shared library shipped inside an installed package may be
opened and looked into through ctypes (threadpoolctl under scikit-learn's ``fit``), the main
program's handle (libc's ``fopen``) may not; the kernel's description of the machine
(``/sys``, ``/proc/self``) is no read of data; a clock read is the agent's when its own code
makes it or calls the helper that does, not when a library times its work further down."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy
import pytest

from rampart.research.audit import CLOCK_DEPTH, Watch, watching
from rampart.research.sandbox_guard import Guard, Refused

HERE = os.path.realpath(__file__)


def _guard(tmp_path: Path) -> Guard:
    watch = Watch([HERE])
    return Guard(watch, str(tmp_path), lambda _p: False)


def _shipped_library() -> str:
    libs = Path(numpy.__file__).resolve().parent.parent / "numpy.libs"
    found = sorted(libs.glob("*.so*")) if libs.is_dir() else []
    if not found:
        pytest.skip("this numpy ships no shared library of its own")
    return str(found[0])


def test_a_library_shipped_in_a_package_may_be_opened_the_main_program_may_not(
    tmp_path: Path,
) -> None:
    guard = _guard(tmp_path)
    shipped = _shipped_library()
    guard.hook("ctypes.dlopen", (shipped,))  # allowed: no exception, nothing noted
    guard.hook("ctypes.dlsym", (SimpleNamespace(_name=shipped), "openblas_get_config"))
    assert guard.watch.accesses() == ()
    for event, args in (
        ("ctypes.dlopen", (None,)),  # the main program: every symbol of libc
        ("ctypes.dlopen", ("libc.so.6",)),  # a bare name, found on the system's paths
        ("ctypes.dlopen", ("/lib/x86_64-linux-gnu/libc.so.6",)),
        ("ctypes.dlsym", (SimpleNamespace(_name=None), "fopen")),
        ("ctypes.dlsym/handle", (0, "fopen")),
    ):
        with pytest.raises(Refused):
            guard.hook(event, args)
    assert {a.kind for a in guard.watch.accesses()} == {"native code"}


def test_the_machines_description_is_no_read_of_data(tmp_path: Path) -> None:
    guard = _guard(tmp_path)
    assert guard.allowed("/sys/fs/cgroup/cpu.max")
    assert guard.allowed("/proc/self/maps")
    assert not guard.allowed("/proc/1/environ")
    assert not guard.allowed("/sys/fs/cgroup/cpu.max", writing=True)


def test_a_clock_read_is_the_agents_only_near_its_own_code() -> None:
    # A stand-in library: a function compiled under a file that is not the agent's.
    namespace: dict[str, Any] = {}
    exec(  # noqa: S102 - the test's own stand-in
        compile(
            "import time\ndef timing(depth):\n"
            "    return time.time() if depth <= 1 else timing(depth - 1)\n",
            "/site-packages/joblib_like.py",
            "exec",
        ),
        namespace,
    )
    timing = namespace["timing"]

    def agent_direct() -> float:
        return time.time()

    def agent_through(depth: int) -> float:
        return float(timing(depth))

    watch = Watch([HERE])
    with watching(watch):
        agent_direct()
        agent_through(CLOCK_DEPTH - 1)  # a helper it calls directly reads it: the agent's
    assert sum(a.count for a in watch.accesses() if a.kind == "clock") == 2
    deep = Watch([HERE])
    with watching(deep):
        agent_through(CLOCK_DEPTH + 2)  # joblib's loop under a model's fit
    assert deep.accesses() == ()
