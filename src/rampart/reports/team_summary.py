"""The team's daily summary: one short page each morning for the people who run
the service, to the operator chat and, when ``email.smtp_host`` is set, by e-mail.

It reads what the day before left behind — trades, PnL, order success, incidents opened, uptime
— and where things stand now: incidents still open (with their ETA), the investor funnel,
active investors, satisfaction, and support tickets open or past their SLA. Counts only: no
investor is named.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.clock import Clock, ms_to_datetime
from rampart.domain.errors import RampartError
from rampart.observability import incidents as incident_store
from rampart.observability.logging import LazyLogger
from rampart.reports import email
from rampart.reports.figures import compute
from rampart.reports.markdown import pct, quoted
from rampart.reports.people_section import share
from rampart.reports.period import DAY_MS, ms_day
from rampart.runtime.business_time import uptime_grace_ms
from rampart.runtime.messaging import Messenger
from rampart.runtime.scheduler import HOUR_MS, Job
from rampart.store.people import operator_ids, people_figures
from rampart.store.support import DEFAULT_SLA_MS, PRIORITIES, ticket_counts

log = LazyLogger("rampart.reports")

TEAM_JOB = "team_summary"


@dataclass(frozen=True, slots=True)
class Summary:
    day: str
    subject: str
    markdown: str


def _sla(settings: Any) -> dict[str, int]:
    people = getattr(settings, "people", None)
    return people.sla_ms() if people is not None else dict(DEFAULT_SLA_MS)


def _when(ms: int | None) -> str:
    return "no ETA" if ms is None else f"ETA {ms_to_datetime(ms):%Y-%m-%d %H:%M} UTC"


def build_summary(engine: sa.Engine, settings: Any, now_ms: int) -> Summary:
    """The summary at ``now_ms``: the UTC day before it, and the state at ``now_ms``."""
    today = ms_day(now_ms)
    start = now_ms - now_ms % DAY_MS - DAY_MS
    day = ms_day(start).isoformat()
    f = compute(engine, start, start + DAY_MS, grace_ms=uptime_grace_ms(settings))
    operators = operator_ids(settings)
    # New investors of the day before only; today's so far are under "Now" (else they
    # are filed under yesterday).
    p = people_figures(engine, now_ms, since_ms=start, until_ms=start + DAY_MS, operators=operators)
    today_new = people_figures(
        engine, now_ms, since_ms=start + DAY_MS, weeks=1, operators=operators
    ).new_investors
    tickets = ticket_counts(engine, now_ms, _sla(settings), answered_since=start)
    active = incident_store.active_incidents(engine)
    severities = {s: sum(1 for i in f.incidents if i.severity == s) for s in ("P0", "P1", "P2")}
    funnel = p.funnel.as_dict()
    lines = [
        f"# Rampart team summary, {today.isoformat()}",
        "",
        f"## Yesterday ({day}, UTC)",
        "",
        f"- Trades closed: {f.trades} ({f.wins} won, {f.losses} lost); net PnL "
        f"{quoted(f.pnl_by_quote, sign=True)}; fees {quoted(f.fees_by_quote)}.",
        f"- Orders submitted: {f.orders_submitted}; order success {pct(f.order_success)}; "
        f"breaker trips {f.breaker_trips}.",
        f"- Incidents opened: {len(f.incidents)} (P0 {severities['P0']}, P1 {severities['P1']}, "
        f"P2 {severities['P2']}); uptime {pct(f.uptime)}.",
        f"- New investors: {p.new_investors}; support tickets answered: {tickets.answered} "
        f"({tickets.answered_in_sla} within their SLA).",
        "",
        "## Now",
        "",
    ]
    if active:
        lines.append(f"- Open incidents: {len(active)}.")
        for i in sorted(active, key=lambda r: (r.severity, r.opened_at))[:5]:
            lines.append(f"  - #{i.id} {i.severity} {i.rule} ({i.status}, {_when(i.eta_at)})")
    else:
        lines.append("- Open incidents: none.")
    open_line = ", ".join(f"{k} {tickets.open.get(k, 0)}" for k in PRIORITIES)
    late_line = ", ".join(f"{k} {tickets.overdue.get(k, 0)}" for k in PRIORITIES)
    lines += [
        f"- Support tickets open: {open_line}; past their SLA: {late_line}.",
        f"- New investors today so far: {today_new}.",
        f"- Investors: {funnel['started']} started, {funnel['connected']} connected, "
        f"{funnel['invested']} invested, {funnel['traded']} traded; {p.active} active in the "
        f"last 7 days; churn {share(p.churn)}.",
        f"- Retention week 1 → week 4: {share(p.retention_w1_w4)}; satisfaction (30 days): "
        f"{share(p.satisfaction.share)} of {p.satisfaction.responses} scores.",
        "",
    ]
    subject = f"Rampart team summary {today.isoformat()}"
    if active:
        subject += f": {len(active)} open incident{'s' if len(active) != 1 else ''}"
    if any(tickets.overdue.values()):
        subject += ", support past SLA"
    return Summary(day, subject, "\n".join(lines))


async def send_summary(
    engine: sa.Engine, settings: Any, clock: Clock, messenger: Messenger | None
) -> str:
    """Build the summary now and send it to the operator chat and by e-mail (when set).
    Raises when neither channel took it, so the scheduler records a failed run."""
    from rampart.reports.telegram_html import to_telegram_html

    now = clock.now_ms()
    summary = await asyncio.to_thread(build_summary, engine, settings, now)
    said: list[str] = []
    delivered = False
    if messenger is None:
        said.append("no operator chat")
    else:
        sent = True
        for html in to_telegram_html(summary.markdown):
            sent = await messenger.tell_operators(html) and sent
        delivered |= sent
        said.append("sent to the operator chat" if sent else "NOT taken by the operator chat")
    cfg = getattr(settings, "email", None)
    if cfg is not None and cfg.enabled:
        try:
            count = await asyncio.to_thread(email.send, cfg, summary.subject, summary.markdown, now)
        except RampartError as exc:
            log.warning("team_summary_email_failed", reason=exc.message)
            said.append(f"e-mail NOT sent: {exc.message}")
        else:
            delivered = True
            said.append(f"e-mailed to {count} recipient{'s' if count != 1 else ''}")
    line = f"team summary {summary.day}: " + "; ".join(said)
    if not delivered:
        raise RampartError(line)
    return line


def team_summary_job(
    db: sa.Engine, settings: Any, *, business: Clock, messenger: Callable[[], Messenger | None]
) -> Job:
    """Every day at ``people.team_summary_hour_utc`` (business clock)."""
    people = getattr(settings, "people", None)
    hour = people.team_summary_hour_utc if people is not None else 8

    async def run(slot_ms: int) -> str:
        del slot_ms  # the summary is of the day before now, and of now
        return await send_summary(db, settings, business, messenger())

    return Job(TEAM_JOB, DAY_MS, run, hour * HOUR_MS, period_lag_ms=hour * HOUR_MS)
