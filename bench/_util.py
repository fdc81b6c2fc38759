"""Small helpers for the benchmarks: memory readings and percentiles."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psutil

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 1e6


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def candle_files() -> list[Path]:
    if not SHARED_DATA.is_dir():
        return []
    return sorted(
        p
        for p in SHARED_DATA.iterdir()
        if p.suffix in {".feather", ".json"} and "trades" not in p.name
    )


def call_counts(profiler: Any) -> tuple[int, int]:
    """A cProfile run's calls: (Python-level, built-in), every call counted, recursive ones
    included. Read from the profiler's own entries, one per code object: ``pstats`` keys its
    table by file, line and name, and every dataclass's generated ``__init__`` is
    ``<string>:1(__init__)``, so there all but one of them are dropped, and which one is kept
    changes from run to run."""
    python = builtin = 0
    for entry in profiler.getstats():
        if isinstance(entry.code, str):
            builtin += entry.callcount
        else:
            python += entry.callcount
    return python, builtin


def quiet_logs() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def machine_speed() -> str:
    """How fast this machine runs CPython: the best time of ``sum(range(1000))``. Wall-time
    figures from two machines compare only as far as this does; the benchmarks with
    wall-time goals print it first."""
    import timeit

    best = min(timeit.repeat("sum(range(1000))", number=2000, repeat=7)) / 2000
    return f"CPython speed: sum(range(1000)) in {best * 1e6:.1f} µs (best of 7)"


def compile_bytecode() -> str:
    """Compile Rampart's modules to bytecode, as ``pip install .`` does for a deployment (the
    Dockerfile's image has it). An editable checkout run with PYTHONDONTWRITEBYTECODE=1 (as
    the Dockerfile and some shells set) never writes it, so every command would compile ~130
    modules from source first: 0.75 G of a 1-candle replay's 4.05 G instructions. The benches
    that time whole processes measure the installed case and say so."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("rampart")
    if spec is None or not spec.submodule_search_locations:
        return "bytecode: rampart not found"
    package = Path(next(iter(spec.submodule_search_locations)))
    ok = compileall.compile_dir(package, quiet=2, workers=1)
    return f"bytecode: {package} compiled ({'ok' if ok else 'some files failed'})"


def tool_python(venv: Path, package: str, module: str) -> tuple[Path | None, str]:
    """The python of ``venv`` with ``package`` installed (created with pip on first use), and
    the module's version; or None and, in words, why it could not be installed. The other
    engines the comparisons run live in virtualenvs of their own, never in Rampart's, made from
    the interpreter Rampart's was made from (and made again when made from another)."""
    from _proc import base_interpreter, env_python

    return env_python(venv, package, module, lambda state: state[1] == base_interpreter())


def paper_fleet_settings(
    db_url: str, nats_url: str, accounts: int, *, speed: int, scale: dict[str, Any]
) -> dict[str, Any]:
    """Workers' settings for ``accounts`` paper accounts on a synthetic two-symbol feed at
    ``speed`` (the scale benches' fleet); ``scale``: the ``scale`` section."""
    agents = ("trend", "mean_reversion", "breakout")
    return {
        "log_format": "json",
        "feed": {"kind": "synthetic", "symbols": ["BTC/USDT", "ETH/USDT"], "speed": speed},
        "accounts": [
            {
                "id": f"acct-{n:04d}",
                "agent": agents[n % 3],
                "profile": "aggressive",
                "symbols": ["BTC/USDT", "ETH/USDT"],
            }
            for n in range(accounts)
        ],
        "store": {"url": db_url, "checkpoint_every": 20},
        "alerts": {"enabled": False},
        "api": {"enabled": False},
        "scale": {"nats_url": nats_url, **scale},
    }
