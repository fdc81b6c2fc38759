"""``rampart check-lookahead``, ``rampart check-warmup`` and ``rampart research configs``: the
checks an agent passes before its backtests are believed, and the saved settings with their
evidence (docs/operators/research.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from rampart.cli.common import ConfigOpt, friendly

if TYPE_CHECKING:
    from rampart.config import Settings
    from rampart.research.lookahead import LookaheadReport
    from rampart.research.signals import Driver

console = Console()
AGENT_HELP = (
    "trend, mean_reversion, breakout, ml, llm, or your own: path/to/file.py:ClassName, "
    "package.module:ClassName or an installed agent's name."
)
research_app = typer.Typer(
    help="Saved agent configurations and their evidence.", no_args_is_help=True
)

DataOpt = Annotated[Path, typer.Option("--data", help="The candle file to check on.")]
InformativeOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--informative-data",
        help="Another symbol's candle file, for an agent that declares it informative "
        "(repeatable).",
        show_default=False,
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param", help="An agent parameter as NAME=VALUE (repeatable).", show_default=False
    ),
]
ProfileOpt = Annotated[str, typer.Option(help="conservative, moderate or aggressive.")]


def driver_for(
    settings: Settings,
    agent: str,
    params: dict[str, Any],
    data: Path,
    profile: str,
    stack: Any,
    informative: Sequence[Path] = (),
) -> tuple[Driver, str | None]:
    """The driver for ``agent`` on ``data``, and a sentence about what decides (ml, llm);
    ``informative`` are other symbols' files, for an agent that declares them."""
    from rampart.agents.base import AgentConstraints
    from rampart.agents.registry import make_agent
    from rampart.clock import SimClock
    from rampart.domain.instruments import Instrument
    from rampart.market.loaders import load_candles
    from rampart.research.signals import Driver
    from rampart.risk.profiles import get_profile

    risk = get_profile(profile, settings.profiles or None)
    make_agent(agent, params or None) if agent not in ("ml", "llm") else None
    series = load_candles(data).series
    candles = list(series.iter_candles())
    instrument = Instrument.for_price(series.symbol, series.typical_price())
    note: str | None = None
    clock = SimClock(0)

    def rule(_visible: object) -> Any:
        return make_agent(agent, params or None)

    factory: Any = rule
    if agent in ("ml", "llm"):
        from rampart.store.db import open_database

        db = open_database(settings.store.url)
        stack.callback(db.dispose)
        if agent == "ml":
            from rampart.ml.registry import ModelRegistry, RegistryModels

            ml = settings.ml
            models = RegistryModels(ModelRegistry(db, ml.models_dir), clock, 10**12)
            served = models.current()
            note = (
                f"The ml agent decides with model {served.version} (in production)."
                if served is not None
                else "No model is in production: the ml agent proposes nothing (promote one "
                "with `rampart models promote`)."
            )
            merged = {
                "threshold": ml.threshold,
                "atr_stop": ml.atr_stop,
                "atr_target": ml.atr_target,
                **params,
            }

            def factory(_visible: object) -> Any:
                return make_agent("ml", merged, models=models)

        else:
            decider = None
            if settings.llm.enabled:
                from rampart.llm.decider import build_decider

                decider = build_decider(settings, clock, db)
                note = f"The llm agent asks {settings.llm.model}: every decision is a model call."
            else:
                note = (
                    "No model is configured (llm.enabled is false): the fallback rule agent "
                    f"({settings.llm.fallback_agent}) decides in its place and is what was checked."
                )

            def factory(_visible: object) -> Any:
                return make_agent(
                    "llm", params or None, llm=decider, fallback=settings.llm.fallback_agent
                )

    constraints = AgentConstraints(risk.min_stop, risk.max_stop, risk.min_rr)
    others = {}
    for path in informative:
        other = load_candles(path).series
        others[other.symbol] = list(other.iter_candles())
    driver = Driver(
        factory, candles, instrument, constraints, settings.engine.history, others=others
    )
    return driver, note


@contextmanager
def _bar(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar over the re-computations (shown in a terminal only)."""
    with Progress(
        TextColumn(f"[bold]{what}[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(what, total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield tick


def _setup(
    config: Path | None, agent: str, param: list[str] | None
) -> tuple[Settings, dict[str, Any]]:
    from rampart.config import load_settings
    from rampart.observability.logging import configure_logging
    from rampart.wiring.replay import parse_params

    settings = load_settings(config)
    configure_logging(settings.log_level, settings.log_format, file=Path("var/rampart.log"))
    return settings, parse_params(agent, param or [])


@friendly
def check_lookahead(
    agent: Annotated[str, typer.Argument(help=AGENT_HELP)],
    data: DataOpt,
    param: ParamOpt = None,
    profile: ProfileOpt = "moderate",
    limit: Annotated[
        int | None, typer.Option(help="Ask only the last N candles (each LLM decision costs).")
    ] = None,
    signals: Annotated[
        int, typer.Option(help="Signal candles re-computed, spread over the file (0: all).")
    ] = 200,
    informative: InformativeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Re-compute each signal on data cut at its candle; report every one that changes."""
    from contextlib import ExitStack

    settings, params = _setup(config, agent, param)
    with ExitStack() as stack:
        driver, note = driver_for(settings, agent, params, data, profile, stack, informative or ())
        if note:
            console.print(note)
        report = lookahead(driver, agent, params, limit=limit, signals_max=max(0, signals))
    if report.walls:
        console.print(f"Run in a sandbox held by {report.walls}.")
    if report.times is not None and report.times.decisions:
        console.print(report.times.sentence(f"{agent} (wall time)"))
    if report.failure:
        console.print(Text(report.failure, style="red"), soft_wrap=True)
    for access in report.accesses[:20]:
        console.print(Text(access.describe(), style="red"), soft_wrap=True)
    # What carried the future first. Candles decided apart on the moved market are no finding
    # (they depend on candle times, which the verdict's sentence says with the lookups named).
    said = [c.describe() for c in (*report.again, *report.changes)]
    for moved in report.moved[:3] if not report.changes else ():
        console.print(f"Depends on candle times: {moved.describe()}.", soft_wrap=True)
    if report.state:
        # What a run left in the agent's classes and modules: the cause when a second run
        # decides apart, and worth knowing when it does not.
        console.print(f"State one run leaves for the next: {', '.join(report.state)}.")
    for sentence in said[:20]:
        console.print(Text(sentence, style="red"), soft_wrap=True)
    if len(said) > 20:
        console.print(f"… and {len(said) - 20} more.")
    _verdict("check-lookahead", agent, report.ok, report.sentence())


def lookahead(driver: Driver, agent: str, params: dict[str, Any], **check: Any) -> LookaheadReport:
    """The lookahead check of ``agent``: in the sandbox (``rampart.research.sandbox``), but for
    Rampart's ml and llm agents, which decide through services the engine hands them."""
    from rampart.research.lookahead import check_lookahead
    from rampart.research.sandbox import IN_PROCESS, check_in_sandbox, request_for

    if agent in IN_PROCESS:
        with _bar("re-computing signals") as tick:
            return asyncio.run(check_lookahead(driver, agent=agent, tick=tick, **check))
    cls = type(driver.factory(driver.candles))
    request = request_for(
        agent, params, cls, driver.candles, driver.instrument, driver.constraints,
        driver.history, driver.others, **check,
    )  # fmt: skip
    with console.status("Checking the agent in a sandbox…", spinner="dots"):
        return check_in_sandbox(request)


def _verdict(check: str, agent: str, ok: bool, sentence: str) -> None:
    """The check's last line, whole on one line for a CI log; exit status 1 on a finding."""
    word = "passed" if ok else "FAILED"
    console.print(
        Text(f"{check} {agent}: {word}. {sentence}", style="green" if ok else "bold red"),
        soft_wrap=True,
    )
    if not ok:
        raise typer.Exit(1)


@friendly
def check_warmup(
    agent: Annotated[str, typer.Argument(help=AGENT_HELP)],
    data: DataOpt,
    param: ParamOpt = None,
    profile: ProfileOpt = "moderate",
    targets: Annotated[int, typer.Option(help="Candles compared per history length.")] = 40,
    informative: InformativeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """How much history the agent's indicators need before its signals settle."""
    from contextlib import ExitStack

    from rampart.research.warmup import check_warmup as run_check

    settings, params = _setup(config, agent, param)
    with ExitStack() as stack:
        driver, note = driver_for(settings, agent, params, data, profile, stack, informative or ())
        if note:
            console.print(note)
        with _bar("comparing histories") as tick:
            report = asyncio.run(run_check(driver, agent=agent, targets=targets, tick=tick))
    table = Table(title=f"Warm-up of {agent} on {data.name}")
    table.add_column("bars of history", justify="right")
    table.add_column("decisions matching a warmed agent's", justify="right")
    for row in report.rows:
        table.add_row(str(row.history), f"{row.matched}/{row.targets}")
    console.print(table)
    _verdict("check-warmup", agent, report.ok, report.sentence())


def _num(evidence: dict[str, Any], key: str) -> str:
    value = evidence.get(key)
    return "—" if value is None else f"{float(value):.2f}"


def _inputs_said(evidence: dict[str, Any]) -> str:
    """The agent's declared inputs as the evidence recorded them, in words: an input that
    states no span it was made from is unverified (docs/operators/research.md)."""
    if "inputs" not in evidence:
        return "not recorded (search it again)"
    listed = [i for i in evidence["inputs"] or [] if isinstance(i, dict)]
    if not listed:
        return "none declared"
    unverified = [str(i.get("file")) for i in listed if i.get("to") is None]
    if unverified:
        return f"unverified: {', '.join(unverified)} (no stated span; not promoted)"
    return "every span stated"


@research_app.command("configs")
@friendly
def configs(config: ConfigOpt = None) -> None:
    """List the saved agent configurations with their evidence."""
    from rampart.config import load_settings
    from rampart.store.agent_configs import list_configs
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        found = list_configs(db)
    finally:
        db.dispose()
    if not found:
        console.print("No saved configuration: `rampart optimize ... --save NAME` saves one.")
        return
    table = Table(title="Saved agent configurations")
    columns = ("name", "agent", "OOS Sharpe", "PBO", "deflated Sharpe", "folds", "inputs", "study")
    for column in columns:
        table.add_column(column)
    for c in found:
        ev = c.evidence
        table.add_row(
            c.name,
            c.agent,
            _num(ev, "oos_sharpe"),
            _num(ev, "pbo"),
            _num(ev, "deflated_sharpe"),
            str(len(ev.get("folds") or [])),
            _inputs_said(ev),
            str(ev.get("study", "")),
        )
    console.print(table)


@research_app.command("show")
@friendly
def show(
    name: Annotated[str, typer.Argument(help="A saved configuration's name.")],
    config: ConfigOpt = None,
) -> None:
    """A saved configuration: the account settings that trade it, and its evidence."""
    from rampart.config import load_settings
    from rampart.domain.errors import RampartError
    from rampart.store.agent_configs import get_config
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        found = get_config(db, name)
    finally:
        db.dispose()
    if found is None:
        raise RampartError(
            f"There is no saved configuration named {name!r}; see `rampart research configs`."
        )
    console.print(f"# give an account these to trade '{name}'\nagent: {found.agent}\nparams:")
    for key, value in found.params.items():
        if value is not None:
            console.print(f"  {key}: {value}")
    console.print(f"# declared inputs: {_inputs_said(found.evidence)}")
    console.print(json.dumps(found.evidence, indent=2), highlight=False)
