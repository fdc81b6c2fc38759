"""``rampart models train|list|show|promote|rollback``: the ML model registry."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rampart.cli.common import ConfigOpt, friendly, recorded_now_ms
from rampart.cli.tables import Col, print_json, print_listing
from rampart.clock import ms_to_datetime

console = Console(soft_wrap=True)
models_app = typer.Typer(
    help="Train ML models, list them, promote one to production or roll back.",
    no_args_is_help=True,
)
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who does this (for the audit log).", show_default=False),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why, for the audit log.")]


@contextmanager
def _registry(config: Path | None) -> Iterator[Any]:
    from rampart.cli.common import load_settings
    from rampart.ml.registry import ModelRegistry
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        yield ModelRegistry(db, settings.ml.models_dir), settings
    finally:
        db.dispose()


def _actor(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _when(ms: int | None) -> str:
    return "" if ms is None else ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.1f} %"


def _ev(x: float | None) -> str:
    return "" if x is None else f"{x * 100:+.3f} %"


@models_app.command("train")
@friendly
def train_cmd(
    data: Annotated[list[Path], typer.Option("--data", help="Candle file (repeat for several).")],
    agent: Annotated[str, typer.Option(help="The agent the model is for.")] = "ml",
    algorithm: Annotated[str, typer.Option(help="auto, lightgbm or sklearn.")] = "auto",
    folds: Annotated[int, typer.Option(min=1, max=20, help="Walk-forward test windows.")] = 4,
    purge: Annotated[
        int | None,
        typer.Option(help="Purge gap in candles (default: the horizon).", show_default=False),
    ] = None,
    trees: Annotated[int, typer.Option(min=1, max=5000)] = 200,
    seed: Annotated[int, typer.Option()] = 0,
    by: ByOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Train with walk-forward evaluation and register the model as a candidate."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from rampart.domain.errors import ConfigError
    from rampart.ml.pipeline import train_and_register
    from rampart.ml.train import TrainConfig

    if agent != "ml":
        raise ConfigError(f"Only the 'ml' agent learns from models, not {agent!r}.")
    for path in data:
        if not path.is_file():
            raise ConfigError(f"There is no candle file at {path}.")
    with _registry(config) as (registry, settings):
        ml = settings.ml
        cfg = TrainConfig(
            horizon=ml.horizon,
            atr_stop=ml.atr_stop,
            atr_target=ml.atr_target,
            fee=float(settings.venue.taker_fee),
            threshold=ml.threshold,
            folds=folds,
            purge=purge,
            algorithm=algorithm,
            trees=trees,
            seed=seed,
        )
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("loading candles", total=None)
            mv, result = train_and_register(
                registry,
                data,
                cfg,
                actor=_actor(by),
                now_ms=recorded_now_ms(registry.engine),
                progress=lambda what: bar.update(task, description=f"training: {what}"),
            )
    m = result.metrics
    console.print(
        f"Registered model [bold]{mv.version}[/] ({result.algorithm}, {m['train_rows']:,} rows, "
        f"{len(m['folds'])} walk-forward folds) as a candidate.",
        highlight=False,
    )
    _print_metrics(m)
    console.print(f"Promote it with: rampart models promote {mv.version}", highlight=False)


def _print_metrics(m: dict[str, Any]) -> None:
    table = Table(title=f"Out of sample, probability ≥ {m.get('threshold')}")
    for col in ("", "trades", "precision", "hit rate", "EV / trade (after fees)"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row(
        "model",
        f"{m.get('trades', 0):,}",
        _pct(m.get("precision")),
        _pct(m.get("hit_rate")),
        _ev(m.get("ev")),
    )
    table.add_row(
        "always trade",
        f"{m.get('rows', 0):,}",
        _pct(m.get("baseline_precision")),
        _pct(m.get("baseline_hit_rate")),
        _ev(m.get("baseline_ev")),
    )
    console.print(table)
    if m.get("auc") is not None:
        console.print(f"AUC {m['auc']:.3f}", highlight=False)


@models_app.command("list")
@friendly
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Every version, newest first, with its stage and out-of-sample figures."""
    with _registry(config) as (registry, _):
        rows = [v.summary() for v in registry.versions()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No models yet: rampart models train --data FILE.")
        return
    columns = [
        Col("version", key=True),
        Col("stage"),
        Col("algorithm"),
        Col("created"),
        Col("trades", justify="right"),
        Col("precision", justify="right"),
        Col("EV", justify="right"),
        Col("base EV", justify="right"),
        Col("promoted by"),
    ]
    print_listing(
        console,
        columns,
        (
            [
                r["version"],
                r["stage"],
                r["algorithm"],
                _when(r["created_at"]),
                "" if r["trades"] is None else f"{r['trades']:,}",
                _pct(r["precision"]),
                _ev(r["ev"]),
                _ev(r["baseline_ev"]),
                r["promoted_by"] or "",
            ]
            for r in rows
        ),
    )


@models_app.command("show")
@friendly
def show_cmd(version: str, config: ConfigOpt = None) -> None:
    """Everything recorded about one version: data, params, metrics per fold, artifact."""
    with _registry(config) as (registry, _):
        mv = registry.get(version)
    console.print(f"[bold]{mv.version}[/] — {mv.stage}, {mv.algorithm}", highlight=False)
    console.print(f"created {_when(mv.created_at)} by {mv.created_by}", highlight=False)
    if mv.promoted_by:
        console.print(f"promoted {_when(mv.promoted_at)} by {mv.promoted_by}", highlight=False)
    console.print(f"artifact {mv.artifact_path} sha256 {mv.artifact_sha256}", highlight=False)
    for f in mv.data.get("files", []):
        console.print(
            f"data {f['file']} {f['symbol']} {f['timeframe']} {_when(f['from_ms'])}–"
            f"{_when(f['to_ms'])} {f['rows']:,} rows sha256 {f['sha256'][:16]}…",
            highlight=False,
        )
    if mv.metrics:
        _print_metrics(mv.metrics)
        for fold in mv.metrics.get("folds", []):
            console.print(
                f"fold {fold['fold']}: train {fold['train_rows']:,}, test {fold['test_rows']:,}, "
                f"trades {fold['trades']:,}, precision {_pct(fold['precision'])} vs "
                f"{_pct(fold['baseline_precision'])}, EV {_ev(fold['ev'])} vs "
                f"{_ev(fold['baseline_ev'])}",
                highlight=False,
            )


@models_app.command("promote")
@friendly
def promote_cmd(
    version: str, by: ByOpt = None, reason: ReasonOpt = "", config: ConfigOpt = None
) -> None:
    """Make a version production (its artifact is verified first); the service picks it up
    on its next decision."""
    with _registry(config) as (registry, _):
        previous = registry.production()
        mv = registry.promote(version, _actor(by), recorded_now_ms(registry.engine), reason)
    was = f" (was {previous.version})" if previous else ""
    console.print(f"Model {mv.version} is now in production{was}.", highlight=False)


@models_app.command("rollback")
@friendly
def rollback_cmd(by: ByOpt = None, reason: ReasonOpt = "", config: ConfigOpt = None) -> None:
    """Put the version that served before the current one back into production."""
    with _registry(config) as (registry, _):
        old, new = registry.rollback(_actor(by), recorded_now_ms(registry.engine), reason)
    console.print(f"Rolled back: {new} is in production again, {old} is archived.", highlight=False)
