"""The service soak's report in Markdown, in the form the launch checklist reads: what ran,
one line per criterion with PASS, FAIL or NOT JUDGED, and the verdict."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from rampart.clock import ms_to_datetime
from rampart_testkit.soak_service.evidence import Evidence
from rampart_testkit.soak_service.judge import Criterion, judge


def _mark(c: Criterion) -> str:
    return {True: "PASS", False: "FAIL", None: "NOT JUDGED"}[c.passed]


def machine() -> str:
    cpus = os.cpu_count() or 0
    system = f"{platform.system()} {platform.release()}, {platform.machine()}"
    return f"{platform.node()} ({system}, {cpus} CPUs, Python {platform.python_version()})"


def render(ev: Evidence, *, speed: float, when: datetime | None = None) -> tuple[str, str]:
    """The report and its verdict (PASS, FAIL or INCOMPLETE)."""
    criteria, verdict = judge(ev)
    when = when or datetime.now(UTC)
    kills = sum(1 for life in ev.lives if life.ended_by == "planted kill")
    lines = [
        f"# Service soak, {when:%Y-%m-%d}",
        "",
        f"**Verdict: {verdict}**",
        "",
        f"- Date: {when:%Y-%m-%d %H:%M} UTC; machine: {machine()}",
        "- What ran: `rampart run` (paper mode, orders to `rampart simulator`, synthetic feed on "
        "the candles' time) with its API, alert engine, scheduler and backups, as a process of "
        "its own against `rampart simulator` as another; " + _bot(ev),
        f"- Simulated: {ev.simulated_s / 3600:.2f} h of {ev.hours:g} h asked, at up to ×{speed:g}, "
        f"in {ev.wall_s:.0f} s of wall time",
        f"- Service starts: {len(ev.lives)}; planted kills (SIGKILL): {kills} of "
        f"{ev.kills_planned} planned",
        f"- Faults: {len(ev.faults)} injected of {len(ev.faults_planned)} planned "
        f"({', '.join(ev.faults_planned) or 'none'}); alert windows of 3 wall seconds "
        "(alert-rules.yaml in the work folder)",
    ]
    if ev.parts:
        lines.append(_resumed(ev))
    if ev.stopped_early:
        took = "" if ev.stop_took_s is None else f" (collected {ev.stop_took_s:.1f} s after)"
        lines.append(
            f"- Ended early: {ev.stopped_early}{took}; this is the report of what ran so far"
        )
    lines += ["", "| Criterion | Result | Figure |", "|---|---|---|"]
    lines += [f"| {c.name} | {_mark(c)} | {c.value.replace('|', '/')} |" for c in criteria]
    lines += [
        "",
        "## Starts of the service",
        "",
        "| # | pid | ended by | RSS samples | last /health |",
        "|---|---|---|---|---|",
    ]
    for i, life in enumerate(ev.lives):
        lines.append(
            f"| {i + 1} | {life.pid} | {life.ended_by} | {len(life.rss_bytes)} "
            f"| {life.health or '-'} |"
        )
    lines += _faults(ev)
    if ev.backups:
        lines += ["", "## Backups", ""]
        lines += [
            f"- {b.name}: {'restored' if b.restored else 'NOT restorable'} ({b.detail})"
            for b in ev.backups
        ]
    if ev.jobs:
        lines += [
            "",
            "## Scheduled jobs (the scheduler's last record of each)",
            "",
            "| job | last slot (business time, UTC) | status | detail |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {j.job} | {j.last_slot} | {j.status} | {j.detail.replace('|', '/')} |"
            for j in ev.jobs
        ]
    if ev.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in ev.notes]
    return "\n".join(lines) + "\n", verdict


def _bot(ev: Evidence) -> str:
    if ev.messages is None and ev.parts:
        return "the bot: not run after the host restart (its stand-in keeps nothing across one)."
    if ev.messages is None:
        return "the bot: not run."
    cut = (
        "no network cut"
        if ev.bot_cut_s is None
        else f"its network cut once for {ev.bot_cut_s:g} wall seconds (fault bot_cut)"
    )
    return (
        "the bot (python-telegram-bot, long polling) against the local Bot API stand-in through "
        f"a TCP relay, {len(ev.commands)} investor commands sent to it, {cut}."
    )


def _resumed(ev: Evidence) -> str:
    """How a run resumed after a host restart covers its parts, and how it reconciles them."""
    times = "once" if len(ev.parts) == 1 else f"{len(ev.parts)} times"
    at = ", ".join(f"{p.resumed_at} (service clock {_hm(p.business_ms)})" for p in ev.parts)
    return (
        f"- Resumed {times} after a host restart, at {at}: this report covers every part. The "
        "simulator keeps nothing across its restart, so the part before one is reconciled "
        "against the simulator's last record of its trades (read every 10 s), up to 10 "
        "business minutes before that record (later trades and fills are counted as not "
        "judged); the new simulator, given the same accounts, keys and last balances, is "
        "reconciled with the fills booked after the restart"
    )


def _hm(ms: int | None) -> str:
    return "-" if ms is None else f"{ms_to_datetime(ms):%H:%M:%S}"


def _faults(ev: Evidence) -> list[str]:
    """The faults injected (business time) and every incident the service opened."""
    lines: list[str] = []
    if ev.faults:
        lines += ["", "## Faults (business time, UTC)", "", "| kind | from | to | expects |"]
        lines += ["|---|---|---|---|"]
        lines += [
            f"| {f.kind} | {_hm(f.start_ms)} | {_hm(f.end_ms)} | {', '.join(f.expects) or '-'} |"
            for f in ev.faults
        ]
    if ev.alerts:
        lines += ["", "## Incidents (business time, UTC)", "", "| rule | severity | opened |"]
        lines[-1] += " resolved |"
        lines += ["|---|---|---|---|"]
        lines += [
            f"| {a.rule} | {a.severity} | {_hm(a.opened_ms)} | {_hm(a.resolved_ms)} |"
            for a in ev.alerts
        ]
    return lines


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def default_path(when: datetime | None = None) -> Path:
    when = when or datetime.now(UTC)
    return Path("docs/operations/runs") / f"{when:%Y-%m-%d}-service-soak.md"


__all__ = ["default_path", "machine", "render", "write"]
