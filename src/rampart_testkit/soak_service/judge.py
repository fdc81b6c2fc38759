"""The service soak's verdict: one criterion per line, each a pure function of the evidence.

The launch plan's criteria (no critical failure, every trade reconciled by its id, orders under
800 ms on average, memory growth under 2 %) and the service's own (backups ran and restore,
every coin under a stop, the audit chain intact, investor messages sent once). A criterion the
run could not judge (no bot ran, no order was sent) says so and does not count as passed; the
verdict is PASS only when every judged criterion passed and nothing was left unjudged but what
the run did not include.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rampart_testkit.soak_service.evidence import AlertSeen, Evidence, FaultWindow, Life
from rampart_testkit.soak_service.jobs import job_problems, schedules
from rampart_testkit.soak_service.state import earlier_part

ORDER_MS_LIMIT = 800.0
MEMORY_PCT_LIMIT = 2.0
MEMORY_WINDOW = 5
"""Samples averaged at each end of a life to judge its growth (one sample is noise)."""
MIN_MEMORY_SAMPLES = 60
"""A life sampled for less (a minute at the harness's pace) says nothing about growth."""


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    passed: bool | None
    """None: not judged in this run (said in ``value``)."""
    value: str


def critical_failures(ev: Evidence) -> Criterion:
    crashes = [
        f"life {i + 1} ({life.ended_by})" for i, life in enumerate(ev.lives) if _crashed(life)
    ]
    p0 = [a for a in ev.alerts if a.severity == "P0" and _fault_of(ev, a) is None]
    found = [f"P0 {a.rule}: {a.summary}" for a in p0] + [f"crash of {c}" for c in crashes]
    value = "none" if not found else "; ".join(found)
    planted = sum(1 for life in ev.lives if life.ended_by == "planted kill")
    return Criterion(
        "0 critical failures (P0 alerts besides the planted faults', crashes besides the "
        "planted kills)",
        not found,
        f"{value} ({planted} planted kills, {len(ev.alerts)} incidents opened in all)",
    )


def _fault_of(ev: Evidence, alert: AlertSeen) -> FaultWindow | None:
    """The planted fault under way when ``alert`` opened, or the last one before it while
    its quiet spell lasted."""
    mine = [
        f
        for f in ev.faults
        if f.start_ms <= alert.opened_ms <= f.end_ms + max(f.slack_ms, f.after_ms)
    ]
    return max(mine, key=lambda f: f.start_ms, default=None)


def alerts(ev: Evidence) -> Criterion:
    """Each fault raised its expected alert while it lasted (or an evaluation after), and the
    alert resolved after it ended; every incident a fault opened, during it or in the quiet
    spell after it, was resolved by the end of the run."""
    name = "every alert fired while its fault lasted and resolved after"
    if not ev.faults:
        return Criterion(name, None, "not judged: no fault was injected in this run")
    problems: list[str] = []
    raised = 0
    for fault in ev.faults:
        during = [a for a in ev.alerts if _fault_of(ev, a) is fault]
        ok, found = _judge_fault(fault, during, _open_at(ev.alerts, fault.start_ms))
        raised += ok
        problems += found
    missing = [k for k in ev.faults_planned if k not in {f.kind for f in ev.faults}]
    if missing:
        problems.append(f"not injected: {', '.join(missing)}")
    expected = sum(1 for f in ev.faults if f.expects)
    value = (
        f"{raised}/{expected} faults raised an expected alert that resolved after them "
        f"({len(ev.faults)} faults)"
    )
    return Criterion(
        name, not problems, value + ("" if not problems else "; " + "; ".join(problems))
    )


def _open_at(alerts: list[AlertSeen], at_ms: int) -> dict[str, AlertSeen]:
    """Incidents open at ``at_ms``, by rule (opened before it, not yet resolved)."""
    return {
        a.rule: a
        for a in alerts
        if a.opened_ms < at_ms and (a.resolved_ms is None or a.resolved_ms > at_ms)
    }


def _judge_fault(
    fault: FaultWindow, during: list[AlertSeen], before: dict[str, AlertSeen]
) -> tuple[int, list[str]]:
    """1 when one of the fault's expected alerts (any of them: each tells the operator the
    exchange or the store is failing) fired in time and the last such resolved after it; what
    went wrong, and any of its incidents left open."""
    problems: list[str] = []
    raised = 0
    judged: AlertSeen | None = None
    if fault.expects:
        fired = fault.end_ms + fault.slack_ms
        mine = [a for a in during if a.rule in fault.expects and a.opened_ms <= fired]
        named = " or ".join(fault.expects)
        if not mine:
            held = [r for r in fault.expects if r in before]
            problems.append(
                f"{fault.kind}: {named} never fired"
                + ("" if not held else f" ({', '.join(held)} still open from before it)")
            )
        else:
            judged = mine[-1]
            if judged.resolved_ms is None or judged.resolved_ms < fault.end_ms:
                problems.append(f"{fault.kind}: {judged.rule} {_resolution(judged)}")
            else:
                raised = 1
    problems += [
        f"{fault.kind}: {a.rule} still open at the end"
        for a in during
        if a.resolved_ms is None and a is not judged
    ]
    return raised, problems


def _resolution(alert: AlertSeen) -> str:
    return "never resolved" if alert.resolved_ms is None else "resolved before its fault ended"


def _crashed(life: Life) -> bool:
    return life.ended_by not in ("planted kill", "stop", "running", "host restart")


def reconciliation(ev: Evidence) -> Criterion:
    name = "100 % reconciliation by trade id (simulator trades = fills in the books)"
    if ev.sim_read_error is not None:
        return Criterion(
            name, False, f"the simulator's trades could not be read: {ev.sim_read_error}"
        )
    missing: list[str] = []
    extra: list[str] = []
    twice: list[str] = []
    accounts = sorted(set(ev.book_trade_ids) | set(ev.sim_trade_ids))
    total = 0
    for account in accounts:
        books = Counter(ev.book_trade_ids.get(account, []))
        sim = set(ev.sim_trade_ids.get(account, []))
        total += len(sim)
        missing += [f"{account}:{t}" for t in sorted(sim - set(books))]
        extra += [f"{account}:{t}" for t in sorted(set(books) - sim)]
        twice += [f"{account}:{t}" for t, n in sorted(books.items()) if n > 1]
    unjudged = 0
    for part in ev.parts:  # before a host restart: against the simulator's last record
        matched_before, lost, never, unjudged_here = earlier_part(part)
        total += matched_before + len(lost)
        missing += lost
        extra += never
        unjudged += unjudged_here
    if total == 0 and not extra:
        return Criterion(name, None, "no trade was made: nothing to reconcile")
    problems = []
    if missing:
        problems.append(f"{len(missing)} simulator trades not in the books ({_some(missing)})")
    if extra:
        problems.append(f"{len(extra)} fills the simulator never made ({_some(extra)})")
    if twice:
        problems.append(f"{len(twice)} booked more than once ({_some(twice)})")
    matched = total - len(missing)
    value = f"{matched}/{total} trades matched" + (
        "" if not problems else "; " + "; ".join(problems)
    )
    if ev.parts:
        value += (
            f" across {len(ev.parts) + 1} parts (resumed after a host restart); {unjudged} "
            "trades and fills of the last minutes before it not judged; "
            f"{len(ev.repairs)} repairs of the holdings the simulator's restart lost"
            + ("" if not ev.repairs else f" ({_some(ev.repairs)})")
        )
    return Criterion(name, not problems, value)


def _some(items: list[str], n: int = 5) -> str:
    return ", ".join(items[:n]) + (", …" if len(items) > n else "")


def order_latency(ev: Evidence) -> Criterion:
    name = f"order execution < {ORDER_MS_LIMIT:.0f} ms on average"
    count = sum(life.order_latency_count for life in ev.lives)
    if count == 0:
        return Criterion(
            name, None, "no order latency was recorded (no order sent, or /metrics unread)"
        )
    avg_ms = sum(life.order_latency_sum_s for life in ev.lives) / count * 1000
    return Criterion(name, avg_ms < ORDER_MS_LIMIT, f"{avg_ms:.1f} ms over {count} exchange calls")


def life_growth_pct(samples: list[int]) -> float | None:
    """Growth of one process's resident memory from its warm point (the end of its first
    simulated hour: the harness samples from there) to its end: the mean of its last samples
    against the mean of its first; None when it was sampled too few times to tell."""
    if len(samples) < MIN_MEMORY_SAMPLES:
        return None
    first = sum(samples[:MEMORY_WINDOW]) / MEMORY_WINDOW
    last = sum(samples[-MEMORY_WINDOW:]) / MEMORY_WINDOW
    return (last - first) / first * 100 if first > 0 else None


def memory_growth(ev: Evidence) -> Criterion:
    name = f"memory growth of the service process < {MEMORY_PCT_LIMIT:g} %"
    growths = [
        (i, g)
        for i, life in enumerate(ev.lives)
        if (g := life_growth_pct(life.rss_bytes)) is not None
    ]
    if not growths:
        return Criterion(
            name, None, f"no life of the service was sampled {MIN_MEMORY_SAMPLES} times or more"
        )
    worst_i, worst = max(growths, key=lambda item: item[1])
    each = ", ".join(f"{g:+.2f} %" for _, g in growths)
    return Criterion(
        name,
        worst < MEMORY_PCT_LIMIT,
        f"largest {worst:+.2f} % (life {worst_i + 1}); per life: {each} (each life from the "
        "end of its first simulated hour to its end)",
    )


def backups(ev: Evidence) -> Criterion:
    name = "scheduled backups ran, each restorable"
    bad = [b for b in ev.backups if not b.restored]
    ran = len(ev.backups) + ev.backups_unchecked
    problems = []
    if ran < ev.backups_expected:
        problems.append(f"{ran} written, {ev.backups_expected} expected")
    if bad:
        problems.append("not restorable: " + "; ".join(f"{b.name} ({b.detail})" for b in bad))
    if ev.backups_unchecked:
        problems.append(f"{ev.backups_unchecked} not restored (no time left)")
    if ev.backups_expected == 0 and ran == 0:
        return Criterion(name, None, "the run was too short for a scheduled backup")
    restored = len(ev.backups) - len(bad)
    value = (
        f"{ran} written (expected at least {ev.backups_expected}), {restored} restored and opened"
    )
    return Criterion(
        name, not problems, value + ("" if not problems else "; " + "; ".join(problems))
    )


def scheduled_jobs(ev: Evidence) -> Criterion:
    """Every job whose slot came in the run ran for its newest one, on time, and did not fail;
    a job none of whose slots came (the weekly report in a day that is not a Monday) is named
    as not due."""
    name = "every scheduled job ran for its slot on the service's clock"
    ran, not_due, problems = job_problems(ev, schedules(ev.backup_every_h))
    value = f"ran: {', '.join(ran) or 'none'}"
    if not_due:
        value += f"; not due in the run: {', '.join(not_due)}"
    if problems:
        value += "; " + "; ".join(problems)
    return Criterion(name, not problems if ran or problems else None, value)


def _dec(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(0)


def stops(ev: Evidence) -> Criterion:
    name = "every coin under a stop at the end"
    held = [h for h in ev.holdings if _dec(h.qty) > 0]
    bare = [h for h in held if _dec(h.stop_qty) <= 0]
    if not held:
        return Criterion(name, True, "no coin held at the end")
    value = f"{len(held) - len(bare)}/{len(held)} holdings under a resting stop"
    if bare:
        value += "; without: " + ", ".join(f"{h.account_id} {h.qty} {h.symbol}" for h in bare)
    return Criterion(name, not bare, value)


def audit(ev: Evidence) -> Criterion:
    name = "audit chain intact"
    if not ev.audit_read:
        return Criterion(name, False, "the audit chain could not be read")
    if ev.audit_problem is not None:
        return Criterion(name, False, ev.audit_problem)
    return Criterion(name, True, f"{ev.audit_entries} entries, chain and head agree")


def messages(ev: Evidence) -> Criterion:
    """Every notice the service's outbox recorded and every reply it recorded for a command
    reached the investor's chat exactly once across the kills and the bot's network cut (the
    stand-in's accepted calls), and every command an investor sent was answered."""
    name = "investor messages sent exactly once"
    if ev.messages is None and ev.parts:
        return Criterion(name, None, "not judged: no bot ran after the host restart")
    if ev.messages is None:
        return Criterion(name, None, "not judged: no bot ran in this soak")
    twice = [f"{m.what} ({m.times}×)" for m in ev.messages if m.times > 1]
    never = [m.what for m in ev.messages if m.times < 1]
    unanswered = [c for c, replies in ev.commands.items() if replies < 1]
    problems = (
        ([f"{len(twice)} sent more than once: {_some(twice)}"] if twice else [])
        + ([f"{len(never)} never sent: {_some(never)}"] if never else [])
        + ([f"{len(unanswered)} commands unanswered: {_some(unanswered)}"] if unanswered else [])
    )
    if not ev.messages and not ev.commands:
        return Criterion(name, None, "the bot ran but no message was recorded for an investor")
    notices = sum(1 for m in ev.messages if m.what.startswith("notice"))
    once = len(ev.messages) - len(twice) - len(never)
    value = (
        f"{once}/{len(ev.messages)} delivered exactly once ({notices} notices, "
        f"{len(ev.messages) - notices} replies); {len(ev.commands) - len(unanswered)}/"
        f"{len(ev.commands)} commands answered"
    )
    if ev.answers_unkept:
        value += f" ({ev.answers_unkept} by a reply sent unrecorded, the store being down)"
    if ev.in_cut[1]:
        value += (
            f"; {ev.in_cut[0]}/{ev.in_cut[1]} that waited out the bot's network cut went once "
            "after it"
        )
    if ev.withheld:
        value += f"; {ev.withheld} notices withheld as no longer true"
    return Criterion(
        name, not problems, value + ("" if not problems else "; " + "; ".join(problems))
    )


CRITERIA = (
    critical_failures,
    alerts,
    reconciliation,
    order_latency,
    memory_growth,
    backups,
    scheduled_jobs,
    stops,
    audit,
    messages,
)
NOT_IN_RUN = frozenset({messages.__name__, alerts.__name__})
"""Criteria a run may leave unjudged without failing: what it did not include (a bot, faults)."""


PASS, FAIL, INCOMPLETE = "PASS", "FAIL", "INCOMPLETE"


def judge(ev: Evidence) -> tuple[list[Criterion], str]:
    """Every criterion's line and the verdict: FAIL when one failed; INCOMPLETE when none
    failed but one the run should have judged was not (too short for memory, no trade to
    reconcile); PASS when each passed, but for what the run did not include."""
    lines: list[tuple[str, Criterion]] = [(c.__name__, c(ev)) for c in CRITERIA]
    if any(c.passed is False for _, c in lines):
        verdict = FAIL
    elif any(c.passed is None and key not in NOT_IN_RUN for key, c in lines):
        verdict = INCOMPLETE
    else:
        verdict = PASS
    return [c for _, c in lines], verdict


__all__ = ["CRITERIA", "FAIL", "INCOMPLETE", "PASS", "Criterion", "judge", "life_growth_pct"]
