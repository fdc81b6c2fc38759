"""``rampart report daily|weekly|list``: make a report from the database now, or list the
stored ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly, recorded_now_ms
from rampart.cli.tables import Col, print_json, print_listing
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

    from rampart.cli.common import load_settings
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


@report_app.command("monthly")
@friendly
def monthly(
    account: Annotated[str, typer.Option("--account", help="The investor's account id.")],
    date: DateOpt = None,
    out: OutOpt = Path("var/reports"),
    config: ConfigOpt = None,
) -> None:
    """An investor's own monthly report (the calendar month holding --date; default: last
    month): trades, PnL, fees, equity, drawdown, breaker trips."""
    _make("monthly", date, out, account, config)


@report_app.command("team")
@friendly
def team(
    send_email: Annotated[
        bool, typer.Option("--email", help="Also e-mail it through the email: relay.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """The team's daily summary as it stands now (the scheduler sends it every morning to the
    operator chat and by e-mail); --email checks the e-mail settings by sending it."""
    from rich.markdown import Markdown

    from rampart.config import load_settings
    from rampart.reports import email
    from rampart.reports.team_summary import build_summary
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        now = recorded_now_ms(db)
        summary = build_summary(db, settings, now)
    finally:
        db.dispose()
    console.print(Markdown(summary.markdown))
    if send_email:
        count = email.send(settings.email, summary.subject, summary.markdown, now)
        console.print(f"E-mailed to {count} recipient{'s' if count != 1 else ''}.")


@report_app.command("list")
@friendly
def list_(
    kind: Annotated[
        str | None,
        typer.Option(
            help="daily, weekly, investor_weekly or investor_monthly.", show_default=False
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """The stored reports, newest period first."""
    from rampart.cli.common import load_settings
    from rampart.reports.store import list_reports
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        found = list_reports(db, kind=kind, limit=limit)
    finally:
        db.dispose()
    if as_json:
        print_json([r.listing() for r in found])
        return
    if not found:
        console.print("No reports stored yet.")
        return
    columns = [
        Col("id", key=True),
        Col("kind"),
        Col("scope", key=True),
        Col("period start"),
        Col("created"),
    ]
    rows = (
        [
            str(r.id),
            r.kind,
            r.scope,
            ms_to_datetime(r.period_start).strftime("%Y-%m-%d"),
            ms_to_datetime(r.created_at).strftime("%Y-%m-%d %H:%M"),
        ]
        for r in found
    )
    print_listing(console, columns, rows, "Stored reports (UTC)")
