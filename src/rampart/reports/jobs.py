"""The scheduled reports: the daily report at 00:05 UTC for the day before, the weekly report
on Monday at 00:10 UTC for the week before, each stored and sent to the operator chat; every
Telegram investor gets their own weekly summary, and on the first of a month (00:15 UTC) their
own monthly report; the team gets its daily summary (reports/team_summary.py)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog

from rampart.clock import Clock
from rampart.reports.build import Report, invested_accounts, make_report
from rampart.reports.period import MONTHLY, default_period, ms_day
from rampart.reports.team_summary import team_summary_job
from rampart.reports.telegram_html import to_telegram_html
from rampart.runtime.messaging import Messenger
from rampart.runtime.scheduler import DAY_MS, MONDAY_OFFSET_MS, WEEK_MS, Job

log = structlog.get_logger("rampart.reports")

MINUTE_MS = 60_000
DAILY_JOB = "report_daily"
WEEKLY_JOB = "report_weekly"
MONTHLY_JOB = "report_monthly"
MONTHLY_OFFSET_MS = 15 * MINUTE_MS
"""Checked every day at 00:15 UTC; it makes reports on the first of a month only."""
DAILY_LAG_MS = 5 * MINUTE_MS
"""The daily report comes 5 minutes after its day ends; the weekly one 10 after its week."""
WEEKLY_LAG_MS = 10 * MINUTE_MS
DAILY_OFFSET_MS = DAILY_LAG_MS
WEEKLY_OFFSET_MS = MONDAY_OFFSET_MS + WEEKLY_LAG_MS


async def send_to_operators(messenger: Messenger, report: Report) -> bool:
    """The report as Telegram HTML (split at 4096 characters), its charts after the last part."""
    messages = to_telegram_html(report.markdown)
    with tempfile.TemporaryDirectory(prefix="rampart-report-") as folder:
        paths = [p for p in report.write(Path(folder)) if p.suffix == ".png"]
        sent = True
        for i, html in enumerate(messages):
            last = i == len(messages) - 1
            sent = await messenger.tell_operators(html, paths if last else ()) and sent
    return sent


async def send_to_investor(messenger: Messenger, report: Report) -> bool:
    sent = True
    for html in to_telegram_html(report.markdown):
        sent = await messenger.tell_account(report.scope, html) and sent
    return sent


async def run_report(
    engine: sa.Engine,
    settings: Any,
    clock: Clock,
    messenger: Messenger | None,
    kind: str,
    slot_ms: int,
) -> str:
    """Make, store and send the ``kind`` report for the period that ended before ``slot_ms``."""
    period = default_period(kind, slot_ms)
    day: date = period.first_day
    report = await asyncio.to_thread(
        make_report, engine, settings, kind, day, now_ms=clock.now_ms()
    )
    if messenger is None:
        return f"{kind} report {period.label} stored as #{report.id}; no operator chat to send to"
    sent = await send_to_operators(messenger, report)
    line = f"{kind} report {period.label} stored as #{report.id}, " + (
        "sent" if sent else "NOT sent (the operator chat did not take it)"
    )
    if kind != "weekly":
        return line
    delivered = 0
    # Investors who only sent /start have no account to summarise (make_report refuses them).
    accounts = await asyncio.to_thread(invested_accounts, engine)
    for account in accounts:
        own = await asyncio.to_thread(
            make_report, engine, settings, kind, day, now_ms=clock.now_ms(), account=account
        )
        delivered += 1 if await send_to_investor(messenger, own) else 0
    return f"{line}; {delivered} of {len(accounts)} investors got their summary"


async def run_monthly(
    engine: sa.Engine, settings: Any, clock: Clock, messenger: Messenger | None, slot_ms: int
) -> str:
    """On the first of a month: every investor's own report on the month before, stored and
    sent to them."""
    if ms_day(slot_ms).day != 1:
        return "not the first of a month: no monthly reports"
    period = default_period(MONTHLY, slot_ms)
    accounts = await asyncio.to_thread(invested_accounts, engine)
    delivered = 0
    for account in accounts:
        report = await asyncio.to_thread(
            make_report,
            engine,
            settings,
            MONTHLY,
            period.first_day,
            now_ms=clock.now_ms(),
            account=account,
        )
        if messenger is not None and await send_to_investor(messenger, report):
            delivered += 1
    return (
        f"monthly reports {period.label}: {len(accounts)} stored, "
        f"{delivered} sent to their investors"
    )


def report_jobs(
    db: sa.Engine,
    settings: Any,
    *,
    business: Clock,
    messenger: Callable[[], Messenger | None],
    save_now: Callable[[], Awaitable[None]],
) -> list[Job]:
    """The daily and weekly report jobs. ``settings`` is what :func:`make_report` reads;
    ``messenger`` is looked up at run time (the bot may come and go)."""

    def job(kind: str) -> Any:
        async def run(slot_ms: int) -> str:
            # The report reads the store: what the engine booked since the checkpoint first.
            await save_now()
            return await run_report(db, settings, business, messenger(), kind, slot_ms)

        return run

    async def monthly(slot_ms: int) -> str:
        await save_now()
        return await run_monthly(db, settings, business, messenger(), slot_ms)

    daily, weekly = job("daily"), job("weekly")
    return [
        Job(DAILY_JOB, DAY_MS, daily, DAILY_OFFSET_MS, period_lag_ms=DAILY_LAG_MS),
        Job(WEEKLY_JOB, WEEK_MS, weekly, WEEKLY_OFFSET_MS, period_lag_ms=WEEKLY_LAG_MS),
        Job(MONTHLY_JOB, DAY_MS, monthly, MONTHLY_OFFSET_MS, period_lag_ms=MONTHLY_OFFSET_MS),
        team_summary_job(db, settings, business=business, messenger=messenger),
    ]
