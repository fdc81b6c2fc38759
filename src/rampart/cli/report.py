"""``rampart report daily|weekly|list``: make a report from the database now, or list the
stored ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rampart.cli.common import ConfigOpt, friendly, recorded_now_ms
from rampart.clock import ms_to_datetime

console = Console(soft_wrap=True)
report_app = typer.Typer(
    help="Daily and weekly reports: Markdown with PNG charts, stored in the database.",
    no_args_is_help=True,
)
DateOpt = Annotated[
    str | None,
    typer.Option(
        "--date",
        help="A day (YYYY-MM-DD, UTC) in the period; default: the last finished one.",
        show_default=False,
    ),
]
OutOpt = Annotated[
    Path, typer.Option("--out", help="Folder to write the Markdown and PNG charts into.")
]
AccountOpt = Annotated[
    str | None,
    typer.Option("--account", help="One investor's own weekly summary.", show_default=False),
]


def _make(kind: str, when: str | None, out: Path, account: str | None, config: Path | None) -> None:
    from rich.markdown import Markdown

    from rampart.config import load_settings
    from rampart.reports.build import make_report
    from rampart.reports.period import default_period, parse_date
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        # "Yesterday" is the service's: on a simulated feed, the days its orders are on.
        now = recorded_now_ms(db)
        day = parse_date(when) if when is not None else default_period(kind, now).first_day
        report = make_report(db, settings, kind, day, now_ms=now, account=account)
    finally:
        db.dispose()
    written = report.write(out)
    console.print(Markdown(report.markdown.split("## Charts")[0]))
    console.print(
        f"Stored as report #{report.id}; wrote {written[0]} and {len(written) - 1} charts."
    )


@report_app.command("daily")
@friendly
def daily(
    date: DateOpt = None,
    out: OutOpt = Path("var/reports"),
    account: AccountOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The daily report: volume, trades, PnL per investor, top strategies, errors, incidents,
    order success, uptime, LLM cost against budget."""
    _make("daily", date, out, account, config)


@report_app.command("weekly")
@friendly
def weekly(
    date: DateOpt = None,
    out: OutOpt = Path("var/reports"),
    account: AccountOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The weekly report (Monday to Sunday): win rate, reward:risk, profit factor, drawdown,
    Sharpe, uptime, error rate, costs; with --account, that investor's own summary."""
    _make("weekly", date, out, account, config)


@report_app.command("list")
@friendly
def list_(
    kind: Annotated[
        str | None,
        typer.Option(help="daily, weekly or investor_weekly.", show_default=False),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    config: ConfigOpt = None,
) -> None:
    """The stored reports, newest period first."""
    from rampart.config import load_settings
    from rampart.reports.store import list_reports
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        found = list_reports(db, kind=kind, limit=limit)
    finally:
        db.dispose()
    if not found:
        console.print("No reports stored yet.")
        return
    table = Table(title="Stored reports (UTC)")
    for column in ("id", "kind", "scope", "period start", "created"):
        table.add_column(column)
    for r in found:
        table.add_row(
            str(r.id),
            r.kind,
            r.scope,
            ms_to_datetime(r.period_start).strftime("%Y-%m-%d"),
            ms_to_datetime(r.created_at).strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
