"""``rampart optimize``: search an agent's declared parameters with walk-forward validation and
say, in plain sentences, whether the result is worth launching (docs/operators/research.md).

Heavy modules (Optuna, the engine, pandas, matplotlib) load inside the command.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from rampart.cli import optimize_options as opts
from rampart.cli import optimize_out
from rampart.cli.common import ConfigOpt, friendly
from rampart.domain.errors import ConfigError, RampartError

if TYPE_CHECKING:
    from rampart.agents.space import Param, ParamSpace
    from rampart.config import Settings
    from rampart.research.analysis import Analysis
    from rampart.research.plan import SearchPlan

console = Console()
NOT_SEARCHED = ("ml", "llm")
DEFAULT_TRIALS = 100


def parse_pairs(option: str, pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise ConfigError(f"{option} takes NAME=VALUE; got {pair!r}.")
        if name in out:
            raise ConfigError(f"{option} {name} is given twice.")
        out[name] = value.strip()
    return out


def narrowed(agent: str, space: ParamSpace, ranges: dict[str, str]) -> dict[str, Param]:
    """``--range NAME=LOW:HIGH`` inside the declared range of a number parameter."""
    out: dict[str, Param] = {}
    for name, text in ranges.items():
        param = space.get(name)
        if param is None:
            raise ConfigError(
                f"Agent '{agent}' has no parameter '{name}': choose from {', '.join(space.names)}."
            )
        low_text, sep, high_text = text.partition(":")
        if param.kind == "choice" or not sep:
            raise ConfigError(
                f"--range {name} takes LOW:HIGH inside {param.describe()}; got {text!r}."
            )
        low, high = param.read(agent, low_text), param.read(agent, high_text)
        if low > high:
            raise ConfigError(f"--range {name}: {low_text} is above {high_text}.")
        out[name] = replace(param, low=float(low), high=float(high))
    return out


@friendly
def optimize(
    data: opts.DataOpt,
    agent: opts.AgentOpt = "trend",
    objective: opts.ObjectiveOpt = "sharpe",
    trials: opts.TrialsOpt = None,
    grid: opts.GridOpt = False,
    folds: opts.FoldsOpt = 4,
    in_blocks: opts.InBlocksOpt = 3,
    jobs: opts.JobsOpt = 0,
    seed: opts.SeedOpt = None,
    prune: opts.PruneOpt = None,
    max_drawdown: opts.MaxDrawdownOpt = None,
    min_trades: opts.MinTradesOpt = 0,
    fix: opts.FixOpt = None,
    search_range: opts.RangeOpt = None,
    profile: opts.ProfileOpt = "moderate",
    capital: opts.CapitalOpt = "10000",
    study: opts.StudyOpt = None,
    storage: opts.StorageOpt = None,
    out: opts.OutOpt = None,
    save: opts.SaveOpt = None,
    informative: opts.InformativeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Search an agent's parameters with walk-forward validation, measure overfitting and
    compare with buy-and-hold; the result is the out-of-sample figure."""
    from rampart.cli.replay import _parse_capital
    from rampart.config import load_settings
    from rampart.observability.logging import configure_logging

    started = time.perf_counter()
    settings = load_settings(config)
    configure_logging(settings.log_level, settings.log_format, file=Path("var/rampart.log"))
    plan, backtest, closes, spans, first = _prepare(
        settings,
        data,
        agent,
        objective,
        (trials, grid),
        folds,
        in_blocks,
        jobs,
        seed,
        prune,
        max_drawdown,
        min_trades,
        fix or [],
        search_range or [],
        profile,
        _parse_capital(capital),
        study,
        informative or [],
    )
    outcomes = _search(plan, backtest, settings.store.url, storage)
    analysis = _analysed(settings, plan, outcomes, closes)
    # The checks read the agent, not the market: the first file is enough.
    analysis = _checked(settings, analysis, first, profile, informative or [])
    seconds = time.perf_counter() - started
    folder = out or Path("out") / f"research-{plan.study.replace('/', '-')}"
    if plan.parts:  # the fold table shows the headline file's folds
        spans = spans[analysis.headline or 0]
    report_id = optimize_out.write(settings, analysis, folder, spans, seconds)
    _print(analysis, folder, report_id, seconds)
    if save is not None:
        optimize_out.save(settings, save, analysis)


def _search(plan: SearchPlan, backtest: Any, store_url: str, storage: str | None) -> Any:
    """Every fold's trials, in the study's storage, with a progress bar per fold on a
    terminal; Ctrl-C keeps the finished trials and says how to continue."""
    from rampart.research.search import run_search
    from rampart.research.storage import spec_for

    spec = spec_for(store_url, storage)
    console.print(
        f"Searching {plan.agent} on {plan.data}: "
        + (f"every one of {plan.trials:,} settings" if plan.grid else f"{plan.trials} trials")
        + " in each of "
        f"{len(plan.folds)} folds, {plan.jobs} worker(s), study '{plan.study}' in "
        f"{spec.describe()}."
    )
    with Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} trials"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        tasks = [bar.add_task(f.label, total=plan.trials) for f in plan.folds]

        def progress(fold: int, done: int, total: int) -> None:
            bar.update(tasks[fold], completed=done, total=total)

        try:
            return run_search(plan, spec, backtest, progress)
        except KeyboardInterrupt:
            raise RampartError(
                f"Stopped. The finished trials are kept in {spec.describe()}: run the same "
                "command to continue the study."
            ) from None


def _analysed(settings: Settings, plan: SearchPlan, outcomes: Any, closes: Any) -> Analysis:
    """The search's analysis: pooled over the files when there are several."""
    fee = float(settings.venue.taker_fee)
    if plan.parts:
        from rampart.research.pooled import analyse_files

        return analyse_files(plan, outcomes, closes, fee)
    from rampart.research.analysis import analyse

    return analyse(plan, outcomes, closes, fee)


def _checked(
    settings: Settings, analysis: Analysis, data: Path, profile: str, informative: list[Path]
) -> Analysis:
    """The lookahead and warm-up checks on the chosen setting, over the whole file, in the
    verdict and the evidence before anything is reported (docs/operators/research.md)."""
    import asyncio
    from contextlib import ExitStack

    from rampart.agents.registry import agent_code_hash, agent_input_spans
    from rampart.cli.research import driver_for, lookahead
    from rampart.research.analysis import CheckOutcome, with_checks
    from rampart.research.warmup import check_warmup

    if analysis.chosen is None:
        return analysis
    agent = analysis.plan.agent
    code = agent_code_hash(agent)  # the evidence is for this code: a changed line needs a re-run
    console.print("Checking the chosen setting for lookahead and its warm-up…")
    chosen = dict(analysis.chosen)
    with ExitStack() as stack:
        driver, _ = driver_for(settings, agent, chosen, data, profile, stack, informative)
        ahead = lookahead(driver, agent, chosen)
        warm = asyncio.run(check_warmup(driver, agent=agent))
    if ahead.times is not None and ahead.times.decisions:
        console.print(ahead.times.sentence(f"{agent} (wall time, over the lookahead check)"))
    return with_checks(
        analysis,
        (
            CheckOutcome("lookahead", ahead.ok, ahead.sentence(), code),
            CheckOutcome("warm-up", warm.ok, warm.sentence(), code),
        ),
        agent_input_spans(agent),  # evidence counts only candles after each input's span
    )


def _prepare(
    settings: Settings,
    data: list[Path],
    agent: str,
    objective: str,
    asked: tuple[int | None, bool],
    folds: int,
    in_blocks: int,
    jobs: int,
    seed: int | None,
    prune: bool | None,
    max_drawdown: float | None,
    min_trades: int,
    fix: list[str],
    ranges: list[str],
    profile: str,
    capital: Decimal,
    study: str | None,
    informative: list[Path],
) -> tuple[SearchPlan, Any, Any, Any, Path]:
    """The plan, the backtest (a pooled one over several files), the closes and the folds'
    spans (per file over several), and the first file."""
    from rampart.agents.plugins import agent_label
    from rampart.agents.registry import make_agent
    from rampart.agents.spans import day
    from rampart.cli.optimize_data import data_files, load_files
    from rampart.domain.performance import period_for
    from rampart.market.naming import stem_of
    from rampart.research.objectives import Constraints, check_objective
    from rampart.research.plan import SearchPlan
    from rampart.research.pooled import PooledBacktest
    from rampart.risk.profiles import get_profile
    from rampart.wiring.backtest import research_settings

    fixed, searched = _searched(agent, fix, ranges)
    trials, prune, points = searcher(*asked, prune, searched, fixed)
    make_agent(agent, fixed or None)
    get_profile(profile, settings.profiles or None)
    check_objective(objective)
    constraints = Constraints(
        max_drawdown=None if max_drawdown is None else max_drawdown / 100, min_trades=min_trades
    )
    research_settings(settings)  # costs on, before any candle is read
    files = data_files(data)
    after, cut_by = _inputs_end(agent)
    loaded = load_files(
        settings, files, agent, profile, capital, folds, in_blocks, informative, after
    )
    head = loaded[0]
    inputs_cut = ""
    if after is not None and any(f.left_out for f in loaded):
        left = ", ".join(f"{f.left_out:,} of {f.path.name}" for f in loaded if f.left_out)
        inputs_cut = (
            f"cut to the candles after {cut_by} (made up to {day(after)}): the {left} "
            "candles before are in no fold"
        )
    stem = stem_of(head.path) if len(loaded) == 1 else f"{len(loaded)}-files-{head.timeframe}"
    name = study or f"{agent_label(agent)}-{stem}-{objective}" + ("-grid" if points else "")
    _check_study_name(name)
    pooled = len(loaded) > 1
    plan = SearchPlan(
        study=name,
        agent=agent,
        objective=objective,
        constraints=constraints,
        trials=trials,
        jobs=jobs if jobs > 0 else _usable_cores(),
        seed=seed,
        prune=prune,
        folds=tuple(head.folds),
        searched=searched,
        fixed=fixed,
        period_ms=period_for(head.timeframe_ms),
        data=head.label
        if not pooled
        else f"{len(loaded)} files ({', '.join(f.path.name for f in loaded)}; {head.timeframe})",
        parts=tuple((f.label, tuple(f.folds)) for f in loaded) if pooled else (),
        grid=points,
        inputs_cut=inputs_cut,
    )
    if inputs_cut:
        console.print(f"Folds {inputs_cut}.", soft_wrap=True)
    if not pooled:
        return plan, head.backtest, head.closes, head.spans, head.path
    backtest = PooledBacktest(tuple(f.backtest for f in loaded))
    return plan, backtest, [f.closes for f in loaded], [f.spans for f in loaded], head.path


def _searched(
    agent: str, fix: list[str], ranges: list[str]
) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The parameters ``--fix`` fixes and those the search varies (``--range`` narrows them);
    refused in words for an agent whose parameters are not searched, or with nothing left."""
    from rampart.agents.registry import agent_space

    if agent in NOT_SEARCHED:
        raise ConfigError(
            f"The {agent} agent's parameters are not searched: "
            + (
                "its decisions come from the model in production, which a search would fit "
                "against itself (tune it with `rampart models train`)."
                if agent == "ml"
                else "every candle would be a paid model call."
            )
            + " Check it with `rampart check-lookahead` and `rampart replay`."
        )
    space = agent_space(agent)
    fixed = space.check(agent, parse_pairs("--fix", fix))
    narrow = narrowed(agent, space, parse_pairs("--range", ranges))
    clash = sorted(set(fixed) & set(narrow))
    if clash:
        raise ConfigError(f"{clash[0]} is both fixed (--fix) and searched (--range).")
    searched = tuple(
        narrow.get(p.name, p)
        for p in space
        if p.name not in fixed and (p.search or p.name in narrow)
    )
    if not searched:
        raise ConfigError("Every parameter is fixed: there is nothing to search.")
    return fixed, searched


def _check_study_name(name: str) -> None:
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum() or len(name) > 100:
        raise ConfigError(
            f"--study is a name of letters, digits, '-', '_' and '.' (at most 100); got {name!r}."
        )


def _inputs_end(agent: str) -> tuple[int | None, str]:
    """Where the agent's declared inputs' stated spans end, the latest, and the input's name
    (None: no input states one; an unverified input is said in the verdict)."""
    from rampart.agents.registry import agent_input_spans

    stated = [s for s in agent_input_spans(agent) if s.end_ms is not None]
    if not stated:
        return None, ""
    last = max(stated, key=lambda s: s.end_ms or 0)
    return last.end_ms, f"{last.name}'s span"


def searcher(
    trials: int | None,
    grid: bool,
    prune: bool | None,
    searched: tuple[Param, ...],
    fixed: dict[str, Any],
) -> tuple[int, bool, tuple[dict[str, Any], ...]]:
    """Trials per fold, pruning and, for ``--grid``, every setting to trade; ``--trials`` or
    ``--prune`` beside ``--grid`` refused in a sentence."""
    if not grid:
        return (DEFAULT_TRIALS if trials is None else trials), prune is not False, ()
    from rampart.research.grid import grid_points

    if trials is not None:
        raise ConfigError("--grid trades every setting: leave out --trials.")
    if prune:
        raise ConfigError(
            "--grid trades every setting to the end, so that PBO and the deflated Sharpe ratio "
            "count them all: leave out --prune."
        )
    points = grid_points(searched, fixed)
    return len(points), False, points


def _print(analysis: Analysis, folder: Path, report_id: int, seconds: float) -> None:
    for line in analysis.verdict:
        style = "bold red" if line.startswith(("Do not launch", "Not distinguishable")) else None
        console.print(Text(line, style=style) if style else line, soft_wrap=True)
    if analysis.chosen is not None:
        shown = " ".join(f"--param {k}={v}" for k, v in analysis.chosen.items())
        console.print(f"Chosen setting: {shown}")
    console.print(
        f"Report: {folder / 'report.md'} (and report.html; stored as report {report_id}, on the "
        f"panel's Reports page). {seconds:,.0f} s."
    )


def _usable_cores() -> int:
    """The CPUs this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity call on this system (macOS)
        return os.cpu_count() or 1
