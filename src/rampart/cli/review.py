"""``rampart review daily``: the operator's daily review checklist (plan 004).

One row per item, each with its figure and a pass or fail: the P0/P1 incidents still open and
those opened in the last day (the alerts that fired), the audit log's hash chain, the newest
scheduled backup's age against ``backup.every_hours`` (and the hour BackupMissed allows), and
the paper fills of the last day, and each account's declared agent inputs. Exit 1 when an item
fails, so a cron job or a runbook step can act on it.

A declared input (a file or model an agent computes its signal from) states the span it was
made from (``rampart.agents.spans``): the paper fills counted are those after the spans of the
account's inputs end (a fill inside one traded a market its input was made from), and an input
stating no span is said to be "unverified".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rampart.cli.common import ConfigOpt, friendly
from rampart.clock import WallClock
from rampart.domain.errors import RampartError

if TYPE_CHECKING:
    from rampart.agents.spans import InputSpan

console = Console(soft_wrap=True)
review_app = typer.Typer(
    help="Operator reviews: the daily checklist, revenue and fees by week.", no_args_is_help=True
)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Check:
    item: str
    ok: bool
    detail: str


def daily_checks(
    db: Any,
    every_hours: float,
    now_ms: int,
    wall_ms: int | None = None,
    inputs: Mapping[str, Sequence[InputSpan]] | None = None,
) -> list[Check]:
    """The checklist on the store ``db`` at ``now_ms`` (the service's clock); the last backup
    is aged on ``wall_ms`` (the host's clock, as backups are stamped: on the business clock a
    simulated run's backup made minutes before reads 57.5 h old). ``inputs``: each account's
    agent's declared inputs with the spans they state."""
    from rampart.observability import incidents
    from rampart.store import ops_records
    from rampart.store.audit import AuditLog
    from rampart.store.queries import MAX_LIMIT, recent_fills

    active = incidents.active_incidents(db)
    urgent = [r for r in active if r.severity in ("P0", "P1")]
    day = [r for r in incidents.list_incidents(db, None, 500) if r.opened_at >= now_ms - DAY_MS]
    rules = sorted({f"{r.severity} {r.rule}" for r in day})
    checks = [
        Check(
            "Open P0/P1 incidents",
            not urgent,
            ", ".join(f"#{r.id} {r.severity} {r.rule}" for r in urgent) or "none",
        ),
        Check(
            "Alerts fired in the last day",
            not any(r.severity == "P0" for r in day),
            f"{len(day)} incident(s)" + (f": {', '.join(rules)}" if rules else ""),
        ),
    ]
    verdict = AuditLog(db).verify()
    checks.append(
        Check(
            "Audit log hash chain",
            verdict.ok,
            f"intact, {verdict.entries} entries" if verdict.ok else str(verdict.problem),
        )
    )
    allowed_ms = int(every_hours * HOUR_MS) + HOUR_MS
    wall = WallClock().now_ms() if wall_ms is None else wall_ms
    newest = ops_records.last_event(db, ops_records.BACKUP_CREATED)
    if newest is not None:
        age_h = max(wall - newest.ts, 0) / HOUR_MS
        fresh = age_h * HOUR_MS <= allowed_ms
        detail = f"newest {age_h:.1f} h old (allowed {allowed_ms / HOUR_MS:g} h)"
        checks.append(Check("Last backup", fresh, detail))
    else:
        checks.append(Check("Last backup", False, "no backup recorded"))
    # Information rather than a gate: a quiet market makes no fills.
    today = [f for f in recent_fills(db, None, MAX_LIMIT) if f.fill.ts >= now_ms - DAY_MS]
    spans_of = inputs or {}
    ends = {a: max((s.end_ms or 0 for s in spans), default=0) for a, spans in spans_of.items()}
    inside = [f for f in today if f.fill.ts <= ends.get(f.fill.account_id, 0)]
    detail = f"{len(today) - len(inside)} fill(s)"
    if inside:
        detail += f" ({len(inside)} more inside an input's span, not counted)"
    checks.append(Check("Paper fills in the last day", True, detail))
    checks.append(Check("Agents' inputs", True, _inputs_detail(spans_of)))
    return checks


def _inputs_detail(inputs: Mapping[str, Sequence[InputSpan]]) -> str:
    """Each account's declared inputs in words: an input stating no span is unverified."""
    said = []
    for account, spans in sorted(inputs.items()):
        unverified = [s.name for s in spans if not s.stated]
        if unverified:
            said.append(f"{account}: {', '.join(unverified)} unverified (no stated span)")
        elif spans:
            said.append(f"{account}: {'; '.join(s.describe() for s in spans)}")
    return "; ".join(said) or "none declared"


@review_app.command("daily")
@friendly
def daily(config: ConfigOpt = None) -> None:
    """Print the daily review checklist; exit 1 when an item fails."""
    from rampart.cli.common import load_settings, recorded_now_ms
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        checks = daily_checks(
            db,
            settings.backup.every_hours,
            recorded_now_ms(db),
            inputs=_account_inputs(settings, db),
        )
    finally:
        db.dispose()
    table = Table(title="Daily review")
    for name in ("Item", "Result", "Detail"):
        table.add_column(name)
    for c in checks:
        table.add_row(c.item, "[green]pass[/]" if c.ok else "[bold red]FAIL[/]", c.detail)
    console.print(table)
    failed = [c.item for c in checks if not c.ok]
    if failed:
        console.print(f"{len(failed)} item(s) failed: {', '.join(failed)}.", highlight=False)
        raise typer.Exit(1)
    console.print("Every item passed.")


def _account_inputs(settings: Any, db: Any) -> dict[str, tuple[InputSpan, ...]]:
    """Each account's agent's declared inputs and the spans they state; the ml agent's model
    in production states the span of its training files in the model registry."""
    from rampart.agents.ml import MlAgent
    from rampart.agents.registry import agent_input_spans
    from rampart.agents.spans import InputSpan
    from rampart.rollout.evidence import production_model

    out = {}
    for account in settings.accounts:
        spans = agent_input_spans(account.agent)
        if account.agent == MlAgent.name:
            model = production_model(db)
            start, end = model["from"], model["to"]
            spans += (
                InputSpan(
                    str(model["file"]),
                    int(start) if isinstance(start, int) else None,
                    int(end) if isinstance(end, int) else None,
                ),
            )
        out[account.id] = spans
    return out


@review_app.command("revenue")
@friendly
def revenue(
    weeks: Annotated[
        int, typer.Option(help="ISO weeks listed, the current one to date.", min=1, max=52)
    ] = 4,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write every row (operator and investors) to this CSV."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Revenue and fees by week: the operator's fees from investors, partner fees, the fees
    the accounts paid, infrastructure and LLM cost, the net; and each investor's week."""
    from rampart.cli.common import load_settings, recorded_now_ms
    from rampart.reports.revenue import revenue as compute
    from rampart.reports.revenue_text import csv_text, day
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        found = compute(db, settings, weeks, recorded_now_ms(db))
    finally:
        db.dispose()
    table = Table(title="Revenue and fees by week (UTC)")
    for name in ("Week of", "Operator fees", "Partner (SOL)", "Fees paid", "Infra", "LLM", "Net"):
        table.add_column(name, justify="left" if name == "Week of" else "right")
    for w in found.weeks:
        table.add_row(
            day(w.week),
            ", ".join(f"{v:.2f} {q}" for q, v in sorted(w.operator_fees.items())) or "0",
            "not recorded" if w.partner_fees_sol is None else f"{w.partner_fees_sol.normalize():f}",
            ", ".join(f"{v:.2f} {q}" for q, v in sorted(w.exchange_fees.items())) or "0",
            f"{w.infra_usd:.2f}",
            f"{w.llm_usd:.2f}",
            f"{w.net_usd:.2f} USD",
        )
    console.print(table)
    for w in found.weeks:
        for left in w.left_out:
            console.print(f"Week of {day(w.week)}: not in the net: {left}.", highlight=False)
    if csv is not None:
        try:
            csv.write_text(csv_text(found), encoding="utf-8")
        except OSError as exc:
            raise RampartError(f"Could not write {csv}: {exc.strerror}.") from None
        console.print(f"Wrote {len(found.weeks) + len(found.investors)} rows to {csv}.")


__all__ = ["Check", "daily_checks", "review_app"]
