"""A postmortem drafted from the store (``rampart incidents postmortem ID``).

Everything the database recorded in the incident's window — from ``before`` its opening to
``after`` its resolution (or now) — goes into one timeline, oldest first: the incident's own
events (opened, notified, acknowledged, ETA, resolved), other alerts that opened or resolved
then, audit entries (who did what; order transitions are counted, not listed), orders created
or changed, account events (kill switch, breakers, pauses) and the notices told to investors.
The sections that need a person (summary, impact, root cause, lessons) are headed as in
docs/operations/postmortem-template.md and left for the author to fill in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.clock import ms_to_datetime
from rampart.domain.errors import RampartError
from rampart.observability import incidents as store
from rampart.store import models as m
from rampart.store.audit import ORDER
from rampart.store.models.audit import audit_log
from rampart.store.models.notify import notify_outbox

MINUTE_MS = 60_000
DEFAULT_MARGIN_MS = 30 * MINUTE_MS
LISTED = 200
"""At most this many rows of one kind in the timeline (the rest are counted)."""
FILL_IN = "_To be written by the incident's owner._"
SECTIONS = (
    "Summary",
    "Impact",
    "Detection and response",
    "Timeline",
    "Root cause",
    "What went well",
    "What could be improved",
    "Action items",
)
"""The template's sections (docs/operations/postmortem-template.md), in its order."""


@dataclass(frozen=True, slots=True)
class Line:
    ts: int
    source: str
    """incident, alert, audit, order, account, notice"""
    text: str


def _when(ms: int | None) -> str:
    return "—" if ms is None else f"{ms_to_datetime(ms):%Y-%m-%d %H:%M:%S} UTC"


def _span(ms: int | None) -> str:
    if ms is None:
        return "—"
    minutes = ms // MINUTE_MS
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "/")


def _own_events(db: sa.Engine, incident: store.IncidentRecord) -> list[Line]:
    lines = []
    for e in store.incident_timeline(db, incident.id):
        who = f" by {e.actor}" if e.actor else ""
        said = f": {e.note}" if e.note else ""
        lines.append(Line(e.ts, "incident", f"#{incident.id} {e.kind}{who}{said}"))
    return lines


def _other_alerts(conn: sa.Connection, incident_id: int, start: int, end: int) -> list[Line]:
    t = m.incidents
    rows = conn.execute(
        sa.select(t)
        .where(
            t.c.id != incident_id,
            sa.or_(
                t.c.opened_at.between(start, end),
                t.c.resolved_at.between(start, end),
            ),
        )
        .order_by(t.c.opened_at)
        .limit(LISTED)
    ).all()
    out = []
    for r in rows:
        if start <= r.opened_at <= end:
            said = f"#{r.id} {r.severity} {r.rule} opened: {r.summary}"
            out.append(Line(r.opened_at, "alert", said))
        if r.resolved_at is not None and start <= r.resolved_at <= end:
            out.append(Line(r.resolved_at, "alert", f"#{r.id} {r.rule} resolved"))
    return out


def _audit(conn: sa.Connection, start: int, end: int) -> tuple[list[Line], int]:
    base = audit_log.c.ts.between(start, end)
    rows = conn.execute(
        sa.select(audit_log)
        .where(base, audit_log.c.action != ORDER)
        .order_by(audit_log.c.seq)
        .limit(LISTED)
    ).all()
    transitions = conn.execute(
        sa.select(sa.func.count()).where(base, audit_log.c.action == ORDER)
    ).scalar_one()
    lines = [
        Line(r.ts, "audit", f"{r.actor}: {r.action} {r.target} {r.detail}".rstrip()) for r in rows
    ]
    return lines, int(transitions)


def _orders(conn: sa.Connection, start: int, end: int) -> tuple[list[Line], Counter[str]]:
    t = m.orders
    rows = conn.execute(
        sa.select(t)
        .where(sa.or_(t.c.created_at.between(start, end), t.c.updated_at.between(start, end)))
        .order_by(t.c.updated_at)
        .limit(LISTED)
    ).all()
    counts: Counter[str] = Counter(r.status for r in rows)
    lines = [
        Line(
            r.updated_at,
            "order",
            f"{r.client_id} ({r.account_id} {r.role} {r.side} {r.symbol}) {r.status}"
            + (f": {r.reason}" if r.reason else ""),
        )
        for r in rows
    ]
    return lines, counts


def _account_events(conn: sa.Connection, start: int, end: int) -> list[Line]:
    t = m.account_events
    rows = conn.execute(
        sa.select(t).where(t.c.ts.between(start, end)).order_by(t.c.ts, t.c.id).limit(LISTED)
    ).all()
    return [
        Line(r.ts, "account", f"{r.scope}: {r.kind} {r.old} → {r.new} by {r.actor} ({r.reason})")
        for r in rows
    ]


def _notices(conn: sa.Connection, start: int, end: int) -> list[Line]:
    t = notify_outbox
    query = sa.select(t).where(t.c.created_at.between(start, end)).order_by(t.c.created_at)
    rows = conn.execute(query.limit(LISTED)).all()
    return [
        Line(
            r.created_at,
            "notice",
            f"to {r.account_id} ({r.kind}, {'sent' if r.sent_at is not None else 'not sent'}): "
            f"{r.text}",
        )
        for r in rows
    ]


def draft_postmortem(
    db: sa.Engine,
    incident_id: int,
    now_ms: int,
    *,
    before_ms: int = DEFAULT_MARGIN_MS,
    after_ms: int = DEFAULT_MARGIN_MS,
) -> str:
    """The draft, in Markdown. Raises RampartError when there is no such incident."""
    incident = store.get_incident(db, incident_id)
    if incident is None:
        raise RampartError(f"There is no incident {incident_id}.")
    start = incident.opened_at - before_ms
    end = (incident.resolved_at if incident.resolved_at is not None else now_ms) + after_ms
    lines = _own_events(db, incident)
    with db.connect() as conn:
        lines += _other_alerts(conn, incident.id, start, end)
        audit, transitions = _audit(conn, start, end)
        orders, by_status = _orders(conn, start, end)
        lines += audit + orders + _account_events(conn, start, end) + _notices(conn, start, end)
    order_rank = {"incident": 0, "alert": 1, "account": 2, "audit": 3, "order": 4, "notice": 5}
    lines.sort(key=lambda x: (x.ts, order_rank[x.source]))
    acked = (
        None if incident.acknowledged_at is None else incident.acknowledged_at - incident.opened_at
    )
    fixed = None if incident.resolved_at is None else incident.resolved_at - incident.opened_at
    orders_line = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())) or "none"
    parts = [
        f"# Postmortem (draft): incident #{incident.id}, {incident.rule} ({incident.severity})",
        "",
        f"Drafted by `rampart incidents postmortem {incident.id}` at {_when(now_ms)} from the "
        f"stored timeline between {_when(start)} and {_when(end)}. Fill in the sections marked "
        "to be written; check the timeline against the logs.",
        "",
        "## Summary",
        "",
        f"- Alert: {incident.summary}",
        f"- Severity: {incident.severity}; status: {incident.status}.",
        f"- Opened {_when(incident.opened_at)}; acknowledged {_when(incident.acknowledged_at)}"
        + (f" by {incident.acknowledged_by}" if incident.acknowledged_by else "")
        + f"; resolved {_when(incident.resolved_at)}.",
        f"- ETA given to investors: {_when(incident.eta_at)}.",
        "",
        FILL_IN,
        "",
        "## Impact",
        "",
        f"- Orders created or changed in the window: {len(orders)} ({orders_line}).",
        f"- Order transitions in the audit log: {transitions}.",
        f"- Investor notices sent in the window: {sum(1 for x in lines if x.source == 'notice')}.",
        "",
        FILL_IN,
        "",
        "## Detection and response",
        "",
        f"- Time to acknowledge: {_span(acked)}; time to resolve: {_span(fixed)}.",
        f"- Notifications sent: {incident.notifications}.",
        "",
        "## Timeline",
        "",
        "| time (UTC) | source | what |",
        "|---|---|---|",
        *(
            f"| {ms_to_datetime(x.ts):%Y-%m-%d %H:%M:%S} | {x.source} | {_cell(x.text)} |"
            for x in lines
        ),
        "",
    ]
    for section in SECTIONS[4:]:
        parts += [f"## {section}", "", FILL_IN, ""]
    return "\n".join(parts)


def parse_duration(text: str) -> int:
    """``30m``, ``2h``, ``90s`` or ``1d`` as milliseconds; one sentence for anything else."""
    raw = (text or "").strip().lower()
    units = {"s": 1000, "m": MINUTE_MS, "h": 60 * MINUTE_MS, "d": 24 * 60 * MINUTE_MS}
    if len(raw) < 2 or raw[-1] not in units or not raw[:-1].isdigit():
        raise RampartError(f"{text!r} is not a duration; write it like 30m, 2h or 1d.")
    return int(raw[:-1]) * units[raw[-1]]


__all__: list[Any] = ["SECTIONS", "draft_postmortem", "parse_duration"]
