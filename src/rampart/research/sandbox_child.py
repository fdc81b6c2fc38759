"""The lookahead sandbox's process: ``python -I -m rampart.research.sandbox_child``, started by
``rampart.research.sandbox`` in an empty working folder with the request on its standard input.

It puts its walls up (``rampart.research.sandbox_guard``) before it imports the agent, so what
the agent does when it loads is inside them too; runs the lookahead check on the candles it was
handed, and on the same candles moved (``rampart.research.future_shift``); and answers one JSON
document on the standard output it was started with. Whatever the agent prints goes to the
standard error stream instead, so it cannot garble the answer by accident.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy  # noqa: F401 - loaded before the walls go up, as the engine has it loaded

from rampart.agents import registry
from rampart.agents.base import AgentConstraints
from rampart.agents.boundary import AgentFault, raised
from rampart.agents.plugins import _completed
from rampart.domain.errors import RampartError
from rampart.research import landlock
from rampart.research.audit import Watch
from rampart.research.cut_inputs import CutInputs, builder
from rampart.research.future_shift import shift_of, shifted_candles, shifted_instrument
from rampart.research.lookahead import LookaheadReport, check_lookahead
from rampart.research.sandbox_guard import Guard, Refused
from rampart.research.sandbox_wire import candles_in, instrument_in, report_out
from rampart.research.signals import Driver


def _owner(paths: list[str]) -> Any:
    files = {os.path.realpath(p) for p in paths}
    roots = tuple(p for p in files if os.path.isdir(p))

    def owns(path: str) -> bool:
        real = os.path.realpath(path)
        return real in files or any(real.startswith(r + os.sep) for r in roots)

    return owns


def _package(where: str) -> None:
    """The agent's package, imported from its folder: the folder above it (perhaps the
    operator's working folder, with the data beside it) is no more readable than any other."""
    import importlib.util

    top = Path(where)
    if top.name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        top.name, top / "__init__.py", submodule_search_locations=[str(top)]
    )
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[top.name] = module
    spec.loader.exec_module(module)


def _factory(request: dict[str, Any]) -> Any:
    """Builds the agent as the engine would: by name through the registry, or (an agent only
    the starting process knew by name) its class from the file that defines it."""
    params = request["params"] or None
    if request.get("package"):
        _package(request["package"])
    where = request.get("file")
    if where is None:
        registry.make_agent(request["spec"], params)  # loads it: inside the walls
        return lambda _visible: registry.make_agent(request["spec"], params)
    import importlib.util

    spec = importlib.util.spec_from_file_location(request["module"], where)
    if spec is None or spec.loader is None:
        raise RampartError(f"{where} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[request["module"]] = module
    spec.loader.exec_module(module)
    cls = _completed(getattr(module, request["attr"]))
    space = getattr(cls, "space", None)
    checked = space.check(request["spec"], params or {}) if space is not None else {}
    return lambda _visible: cls(**checked)


async def _check(request: dict[str, Any], watch: Watch) -> LookaheadReport:
    candles = candles_in(request["candles"])
    instrument = instrument_in(request["instrument"])
    constraints = AgentConstraints(*(Decimal(x) for x in request["constraints"]))
    history = int(request["history"])
    factory = _factory(request)
    cuts = Path(os.getcwd()) / "cuts"  # the one folder it may write in
    cls = type(factory(candles[:1]))
    inputs = CutInputs(
        cls, builder(request["spec"], request["params"] or {}), candles, cuts, watch.adopt
    )
    others = {symbol: candles_in(rows) for symbol, rows in request.get("others", {}).items()}
    driver = Driver(factory, candles, instrument, constraints, history, others=others)
    shift = shift_of(candles)
    moved = Driver(
        factory,
        shifted_candles(candles, shift),
        shifted_instrument(instrument),
        constraints,
        history,
        equity=driver.equity * 2,
        others={symbol: shifted_candles(rows, shift) for symbol, rows in others.items()},
    )
    return await check_lookahead(
        driver,
        agent=request["spec"],
        limit=request.get("limit"),
        quiet=int(request["quiet"]),
        signals_max=int(request["signals"]),
        seed=int(request["seed"]),
        watch=watch,
        moved=moved,
        inputs=inputs,
    )


def _failure(spec: str, exc: BaseException) -> str:
    if isinstance(exc, AgentFault):
        text = exc.sentence
    elif isinstance(exc, RampartError):
        text = exc.message.rstrip(".")
    else:
        text = raised(spec, exc, "being checked in the sandbox")
    if isinstance(exc, Refused) or f"{Refused.__name__} (" in text:
        # Where the sandbox raised is not news: the line that tried is among the accesses.
        text = re.sub(r" at sandbox_guard\.py:\d+", "", text) + " (refused by the sandbox)"
    return text


def main() -> None:
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the agent's prints go to the error stream, never into the answer
    request = json.load(sys.stdin)
    workdir = os.getcwd()
    watch = Watch(request["code"], owns=_owner(request["readable"]))
    guard = Guard(watch, workdir, watch.owns or (lambda _p: False))
    abi = landlock.restrict(guard.readable(request["readable"]), [workdir])
    guard.install()
    walls = f"Landlock ABI {abi} and an audit hook" if abi else "an audit hook only"
    try:
        report = asyncio.run(_check(request, watch))
        out = report_out(report)
    except BaseException as exc:  # the agent's: said in the answer, never a traceback
        empty = LookaheadReport(request["spec"], 0, 0, 0, accesses=watch.accesses())
        out = report_out(empty)
        out["failure"] = _failure(request["spec"], exc)
    out["walls"] = walls
    answer.write(json.dumps(out))
    answer.flush()
    os._exit(0)  # threads the agent left behind end here


if __name__ == "__main__":
    main()
