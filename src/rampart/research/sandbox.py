"""``check-lookahead`` in a room of its own: the agent runs in a separate process that can reach
only the candles it is handed (docs/authors/agents.md, *The sandbox*).

The process (``rampart.research.sandbox_child``) is a fresh Python (``-I``: no user site, no
``PYTHON*`` variables, no working folder on the path), started in an empty temporary folder with
a bare environment; it gets the candles, the agent's name and parameters and the list of its own
files on its standard input, puts its walls up (``rampart.research.sandbox_guard``), imports the
agent inside them, and answers in JSON. Nothing it answers is run; a sandbox that does not
answer within the deadline, or answers nonsense, fails the check in a sentence.

Rampart's ml and llm agents are checked in-process (``rampart.research.lookahead``): they read
the model registry and the LLM through services the engine hands them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rampart.agents.base import AgentConstraints
from rampart.agents.fingerprint import agent_files, module_file
from rampart.agents.plugins import installed_agents, is_spec
from rampart.agents.registry import AGENT_NAMES
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.research.lookahead import MAX_SIGNALS, QUIET_SAMPLES, LookaheadReport
from rampart.research.sandbox_wire import candles_out, instrument_out, report_in

DEADLINE_S = 3_600.0
"""The longest a sandbox may run before the check fails (a 100k-candle file takes minutes)."""
IN_PROCESS = ("ml", "llm")
_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")
"""The environment the sandbox keeps: nothing that names a secret or a data file."""


def _where(spec: str) -> str:
    """A file agent's spec with its path made absolute (the sandbox starts elsewhere)."""
    if not is_spec(spec):
        return spec
    where, _, attr = spec.rpartition(":")
    if where.endswith(".py") or "/" in where or "\\" in where:
        return f"{Path(where).expanduser().resolve()}:{attr}"
    return spec


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def request_for(
    spec: str,
    params: dict[str, Any],
    agent_class: type,
    candles: Sequence[Candle],
    instrument: Instrument,
    constraints: AgentConstraints,
    history: int,
    others: Mapping[str, Sequence[Candle]] | None = None,
    **check: Any,
) -> dict[str, Any]:
    files = agent_files(agent_class)
    request: dict[str, Any] = {
        "spec": _where(spec),
        "params": {k: _plain(v) for k, v in params.items()},
        "candles": candles_out(list(candles)),
        "instrument": instrument_out(instrument),
        "constraints": [
            str(x) for x in (constraints.min_stop, constraints.max_stop, constraints.min_rr)
        ],
        "history": history,
        "code": [str(p) for p in files.code],
        "readable": [str(p) for p in files.readable()],
        "package": str(files.package) if files.package else None,
        "limit": check.get("limit"),
        "quiet": check.get("quiet", QUIET_SAMPLES),
        "signals": check.get("signals_max", MAX_SIGNALS),
        "seed": check.get("seed", 0),
        # Other symbols' candles for an agent reading them (its informative series).
        "others": {symbol: candles_out(list(rows)) for symbol, rows in (others or {}).items()},
    }
    if not (spec in AGENT_NAMES or is_spec(spec) or spec in installed_agents()):
        # Known by this name only here (a test's registry): the sandbox loads its file.
        base = next(c for c in agent_class.__mro__ if "_completed" not in c.__qualname__)
        request.update(module=base.__module__, attr=base.__name__, file=str(module_file(base)))
    return request


def check_in_sandbox(request: dict[str, Any], deadline_s: float = DEADLINE_S) -> LookaheadReport:
    """The lookahead check of ``request`` (:func:`request_for`) run in the sandbox."""
    env = {k: os.environ[k] for k in _ENV if k in os.environ}
    with tempfile.TemporaryDirectory(prefix="rampart-sandbox-") as work:
        env["HOME"] = work
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-m", "rampart.research.sandbox_child"],
                input=json.dumps(request).encode(),
                capture_output=True,
                cwd=work,
                env=env,
                timeout=deadline_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return _failed(request, f"the sandbox ran past its {deadline_s:g} s deadline")
    try:
        answer = json.loads(done.stdout)
        return report_in(answer, str(answer.get("walls", "")))
    except (ValueError, KeyError, TypeError, ArithmeticError):
        said = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["nothing"]
        return _failed(
            request,
            f"the sandbox ended (status {done.returncode}) without a readable answer; its last "
            f"words: {said[0][:200]}",
        )


def _failed(request: dict[str, Any], why: str) -> LookaheadReport:
    return LookaheadReport(str(request["spec"]), 0, 0, 0, failure=why)
