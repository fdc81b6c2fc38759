"""Agents from outside Rampart: a file, a module, or an installed package's entry point.

Wherever an agent is named (``rampart replay``, ``optimize``, the checks, ``accounts[].agent``)
the registry asks :func:`resolve` for anything that is not a built-in name:

- ``path/to/file.py:ClassName``: the file is loaded as a module of its own (relative paths
  from the working directory);
- ``package.module:ClassName``: imported from the Python path;
- ``name``: an installed package's entry point in the ``rampart.agents`` group
  (``[project.entry-points."rampart.agents"] name = "package.module:ClassName"``).

The class is checked once, when first named, against the Agent protocol of
:data:`API_VERSION` (docs/authors/agents.md): the members, the parameter space against the
constructor, and a probe (the agent fed synthetic candles and asked to decide on each). What
fails is refused in one sentence, before the agent sees any money.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from rampart.agents.base import AgentBase, AgentConstraints, agent_view
from rampart.agents.informative import SeriesBook, declared
from rampart.agents.plotting import declared_plot
from rampart.agents.protections import declared_protections
from rampart.agents.space import ParamSpace
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.domain.positions import Position

API_VERSION = "1"
"""The Agent protocol's version (docs/authors/agents.md says what each version added). A class
may declare ``api_version``; one naming another major version is refused."""
ENTRY_POINT_GROUP = "rampart.agents"
MAX_SPEC = 64
"""The store keeps an account's agent in 64 characters (``accounts.agent``)."""
PROBE_SYMBOL = "PROBE/USDT"
MAX_PROBE_BARS = 1_000
REQUIRED = ("update", "decide")


@dataclass(frozen=True, slots=True)
class PluginAgent:
    """A custom agent class that met the protocol, and what the registry reads of it."""

    spec: str
    cls: Callable[..., Any]
    space: ParamSpace
    description: str


_resolved: dict[str, PluginAgent] = {}


def is_spec(name: object) -> bool:
    """Whether ``name`` reads as ``file.py:Class`` or ``module:Class`` (not a plain name)."""
    return isinstance(name, str) and ":" in name


def agent_label(name: str) -> str:
    """``name`` fit for a file, a study or an account id: a custom agent's class name."""
    return name.rpartition(":")[2] if is_spec(name) else name


def check_storable(name: str) -> None:
    """Refuse an agent name an account cannot keep in the store (a long path)."""
    if len(name) > MAX_SPEC:
        raise ConfigError(
            f"Agent {name!r} is {len(name)} characters and an account keeps {MAX_SPEC}: name "
            "the file by a shorter (relative) path, or install it as a package."
        )


def installed_agents() -> dict[str, str]:
    """Agents installed packages register: entry-point name → ``module:Class``."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve(spec: str) -> PluginAgent | None:
    """The custom agent ``spec`` names, checked; None for a plain name no package registers.

    ConfigError in one sentence for a file, module or class that is not there, or a class that
    does not meet the protocol."""
    key = spec
    if is_spec(spec):
        where, _, attr = spec.rpartition(":")
        if not where or not attr.isidentifier():
            raise ConfigError(
                f"Agent {spec!r} must read path/to/file.py:ClassName or package.module:ClassName."
            )
        if _is_path(where):  # a relative path means another file from another folder
            key = f"{Path(where).expanduser().resolve()}:{attr}"
    found = _resolved.get(key)
    if found is not None:
        return found
    if is_spec(spec):
        module = _load_file(spec, where) if _is_path(where) else _import(spec, where)
        cls = getattr(module, attr, None)
        if cls is None:
            raise ConfigError(f"Agent {spec!r}: {where} has no {attr}.")
    else:
        targets = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == spec]
        if not targets:
            return None
        try:
            cls = targets[0].load()
        except Exception as exc:
            raise ConfigError(
                f"Agent {spec!r} (installed as {targets[0].value}) failed to load: {_said(exc)}."
            ) from None
    found = _resolved[key] = _checked(spec, cls)
    return found


def _is_path(where: str) -> bool:
    return where.endswith(".py") or "/" in where or "\\" in where


def _load_file(spec: str, where: str) -> ModuleType:
    path = Path(where).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"Agent {spec!r}: there is no file {where}.")
    # One module per file, named after its path, so two files called agent.py do not collide
    # and a pickled trial in another process finds the same module.
    name = "rampart_agent_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    module = sys.modules.get(name)
    if module is not None:
        return module
    loader = importlib.util.spec_from_file_location(name, path)
    if loader is None or loader.loader is None:  # pragma: no cover - a .py file always loads
        raise ConfigError(f"Agent {spec!r}: {where} cannot be loaded as Python.")
    module = importlib.util.module_from_spec(loader)
    sys.modules[name] = module
    try:
        loader.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ConfigError(f"Agent {spec!r}: loading {where} raised {_said(exc)}.") from None
    return module


def _import(spec: str, where: str) -> ModuleType:
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"Agent {spec!r}: there is no module {exc.name or where} on the Python path."
        ) from None
    except Exception as exc:
        raise ConfigError(f"Agent {spec!r}: importing {where} raised {_said(exc)}.") from None


def _said(exc: BaseException) -> str:
    """An exception as a clause: its type, its message, and the line of the agent's code."""
    text = str(exc).strip().rstrip(".")
    said = f"{type(exc).__name__} ({text})" if text else type(exc).__name__
    frames = inspect.trace() if sys.exc_info()[1] is exc else []
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f"{said} at line {exc.lineno}"
    if frames:
        last = frames[-1]
        return f"{said} at {Path(last.filename).name}:{last.lineno}"
    return said


# -- the protocol ---------------------------------------------------------------------------


def _checked(spec: str, cls: Any) -> PluginAgent:
    if not inspect.isclass(cls):
        raise ConfigError(f"Agent {spec!r} is not a class but {type(cls).__name__}.")
    missing = [m for m in REQUIRED if not callable(getattr(cls, m, None))]
    if missing:
        raise ConfigError(
            f"Agent {spec!r} has no {' or '.join(missing)} method: an agent needs name, warmup, "
            "update(candle) and decide(view) (docs/authors/agents.md)."
        )
    version = str(getattr(cls, "api_version", API_VERSION))
    if version.split(".")[0] != API_VERSION:
        raise ConfigError(
            f"Agent {spec!r} is written for Agent API {version}; this Rampart speaks {API_VERSION}."
        )
    space = getattr(cls, "space", None)
    if space is None:
        space = ParamSpace(())
    elif not isinstance(space, ParamSpace):
        raise ConfigError(
            f"Agent {spec!r} declares space as {type(space).__name__}, not a ParamSpace."
        )
    _match_constructor(spec, cls, space)
    cls = _completed(cls)
    try:
        agent = cls(**space.defaults())
    except Exception as exc:
        raise ConfigError(
            f"Agent {spec!r} raised {_said(exc)} when built with its defaults."
        ) from None
    name, warmup = getattr(agent, "name", None), getattr(agent, "warmup", None)
    if not isinstance(name, str) or not name or len(name) > MAX_SPEC:
        raise ConfigError(f"Agent {spec!r} needs a name of 1 to {MAX_SPEC} characters.")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ConfigError(f"Agent {spec!r} needs a warmup of 0 or more bars, not {warmup!r}.")
    _probe(spec, agent)
    # The class's own docstring: getdoc would hand a class without one AgentBase's, which
    # _completed put beneath it.
    doc = inspect.cleandoc(cls.__doc__ or "").strip().splitlines()
    description = str(getattr(cls, "description", "") or (doc[0] if doc else spec))
    return PluginAgent(spec, cls, space, description)


def _match_constructor(spec: str, cls: type, space: ParamSpace) -> None:
    """The space and the constructor declare the same parameters with the same defaults, so
    ``--param``, the search and the settings build what they check."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return
    taken: dict[str, inspect.Parameter] = {}
    open_ended = False
    for p in signature.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            open_ended = True
        elif p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        elif p.kind is inspect.Parameter.POSITIONAL_ONLY:
            if p.default is inspect.Parameter.empty:
                raise ConfigError(
                    f"Agent {spec!r}: its constructor needs '{p.name}' by position; take "
                    "parameters by keyword, declared in its space."
                )
        else:
            taken[p.name] = p
    declared = space.defaults()
    for name, default in declared.items():
        keyword = taken.get(name)
        if keyword is None:
            if open_ended:
                continue
            raise ConfigError(
                f"Agent {spec!r}: its space declares '{name}', which its constructor does not take."
            )
        if keyword.default is not inspect.Parameter.empty and not _same(keyword.default, default):
            raise ConfigError(
                f"Agent {spec!r}: the default of '{name}' is {keyword.default!r} in its "
                f"constructor and {default!r} in its space."
            )
    for name in taken:
        if name not in declared:
            raise ConfigError(
                f"Agent {spec!r}: its constructor takes '{name}', which its space does not "
                "declare (declare it, so --param, optimize and the settings can set it)."
            )


def _same(a: object, b: object) -> bool:
    if isinstance(a, int | float | Decimal | str) and isinstance(b, int | float | Decimal | str):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except ArithmeticError:
            return a == b
    return a == b


def _completed(cls: type) -> type:
    """The class with the members the engine may ask for that an agent need not write, from
    :class:`AgentBase` (never ``quiet``, ``decide_async`` answering with ``decide``); the
    agent's own members come first."""
    if hasattr(cls, "quiet") and hasattr(cls, "decide_async"):
        return cls
    extra = {"__module__": cls.__module__, "__doc__": cls.__doc__}
    return type(cls.__name__, (cls, AgentBase), extra)


def _probe(spec: str, agent: Any) -> None:
    """Feed the agent synthetic candles, asking it on every bar, flat and holding; anything it
    raises or answers that is not a list of intents refuses it."""
    candles = probe_candles(min(agent.warmup + 40, MAX_PROBE_BARS))
    instrument = Instrument.for_price(PROBE_SYMBOL, 100.0)
    constraints = AgentConstraints(Decimal("0.005"), Decimal("0.05"), Decimal("1.5"))
    # What it declares beyond decide, refused here in one sentence when wrong.
    declared_plot(agent)
    declared_protections(agent)
    # Its informative series as the engine builds them (another symbol's stay empty here).
    specs = declared(agent)
    book = SeriesBook()
    book.want_all(specs, PROBE_SYMBOL)
    for i, candle in enumerate(candles, 1):
        try:
            book.feed(candle)
            agent.update(candle)
            position = _probe_position(candle) if i % 2 else None
            view = agent_view(
                "probe",
                PROBE_SYMBOL,
                candle,
                candles[:i],
                instrument,
                Decimal(10_000),
                Decimal(10_000) if position is None else Decimal(5_000),
                position,
                constraints,
                candle.close_ts,
                book.view(specs, PROBE_SYMBOL, candle.close_ts),
            )
            intents = agent.decide(view)
        except Exception as exc:
            raise ConfigError(
                f"Agent {spec!r} raised {_said(exc)} on probe bar {i}: fix it before it trades."
            ) from None
        if not isinstance(intents, Sequence) or not all(isinstance(x, Intent) for x in intents):
            raise ConfigError(
                f"Agent {spec!r} answered {type(intents).__name__} on probe bar {i}: decide "
                "must return a list of Intent."
            )


def probe_candles(n: int, timeframe_ms: int = 300_000, symbol: str = PROBE_SYMBOL) -> list[Candle]:
    """``n`` deterministic 5-minute bars around 100: waves of several lengths, so crossing and
    breaking indicators fire."""
    out = []
    prev = 100.0
    for i in range(n):
        close = 100 + 8 * math.sin(i / 9) + 3 * math.sin(i / 2.3) + 0.5 * math.sin(i * 1.7)
        high, low = max(prev, close) + 0.4, min(prev, close) - 0.4
        ts = i * timeframe_ms
        out.append(Candle(symbol, ts, prev, high, low, close, 10.0, timeframe_ms))
        prev = close
    return out


def _probe_position(candle: Candle) -> Position:
    price = Decimal(str(round(candle.close, 2)))
    return Position(
        PROBE_SYMBOL,
        "probe",
        "probe-1",
        candle.ts,
        price * Decimal("0.97"),
        price * Decimal("1.06"),
        qty=Decimal(50),
        avg_price=price,
    )
