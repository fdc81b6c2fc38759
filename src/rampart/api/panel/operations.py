"""The Operations page: the components, past one machine the workers and the blue-green deploy
(shards per version, the step's hold and gates), backups (list, last restore drill, back up
now), the audit chain (verify now, head hash), incidents history, and reconciliation repairs.

Backups are made as the scheduled job and ``rampart backup create`` make them (same key, same
destination, recorded and audited); the audit chain is checked as ``rampart audit verify``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rampart.api.panel.actions import Action, action
from rampart.api.panel.overview import incidents
from rampart.api.panel.sessions import PanelSession
from rampart.api.panel.web import Who, ctx_of, render
from rampart.domain.errors import RampartError
from rampart.operator import ops as ops_records

router = APIRouter(include_in_schema=False)
SHOWN = 50


def _backups(operator: Any, settings: Any) -> tuple[str, list[dict[str, Any]], str | None]:
    """(where, newest first, why they cannot be listed)."""
    where, found, problem = operator.backups(settings)
    if problem is not None:
        return where, [], problem
    rows = []
    for item in reversed(found[-SHOWN:]):
        manifest = item.manifest or {}
        tables = manifest.get("tables", {})
        rows.append(
            {
                "name": item.name,
                "created_at": item.created_at,
                "backend": manifest.get("backend", ""),
                "schema": manifest.get("schema_revision", ""),
                "rows": sum(int(n) for n in tables.values()) if manifest else None,
                "size": item.size_bytes,
                "problem": item.problem or "",
            }
        )
    return where, rows, None


def _reads(ctx: Any) -> dict[str, Any]:
    operator = ctx.operator
    where, backups, problem = _backups(operator, ctx.settings)
    seq, head = operator.audit_head()
    last = {
        kind: operator.last_event(kind)
        for kind in (ops_records.BACKUP_CREATED, ops_records.RESTORE_DRILL)
    }
    return {
        "where": where,
        "backups": backups,
        "backup_problem": problem,
        "audit_seq": seq,
        "audit_head": head,
        "last_backup": last[ops_records.BACKUP_CREATED],
        "last_drill": last[ops_records.RESTORE_DRILL],
        "repairs": operator.repairs(SHOWN),
        "fleet": operator.rollout_desk().fleet() if operator.serves_rollout else None,
    }


@router.get("/panel/operations")
async def operations(request: Request, who: Who) -> Response:
    if not who.reads_all:
        return render(request, "missing.html", who, status=403, what=None)
    ctx = ctx_of(request)
    found = await asyncio.to_thread(_reads, ctx)
    history = await incidents(ctx, None, SHOWN)
    return render(
        request,
        "operations.html",
        who,
        incidents=history,
        doctor_offered=ctx.doctor is not None,
        doctor=getattr(request.app.state, "panel_doctor", None),
        components=ctx.health.components(),
        **found,
    )


def _size(n: int | None) -> str:
    return "" if n is None else f"{n / 1e6:,.1f} MB"


async def _backup_now(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    ctx = ctx_of(request)
    settings = ctx.settings
    cfg = getattr(settings, "backup", None)
    if cfg is None:
        raise RampartError("Backups are not configured in this process.")

    def make() -> str:
        info = ctx.operator.backup_now(settings, who.actor)
        return (
            f"Backup {info.name} written to {info.where}: {info.rows:,} rows in "
            f"{len(info.manifest['tables'])} tables, {_size(info.size_bytes)}."
        )

    return await asyncio.to_thread(make)


async def _verify_audit(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    verdict = await asyncio.to_thread(ctx_of(request).operator.verify_audit)
    if not verdict.ok:
        return f"The audit chain is broken: {verdict.problem}"
    return (
        f"The audit chain is intact: {verdict.entries:,} entries. "
        f"Head: entry {verdict.head_seq} {verdict.head_hash}."
    )


async def _doctor(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    ctx = ctx_of(request)
    if ctx.doctor is None:
        raise RampartError("The doctor is not offered in this process; run `rampart doctor`.")
    now = ctx.business.now_ms()
    checks = await asyncio.to_thread(ctx.doctor, now)
    rows = [{"status": c.status, "name": c.name, "message": c.message} for c in checks]
    # Kept for the page until the next run (per process, like the sessions).
    request.app.state.panel_doctor = {"ts": now, "by": who.actor, "checks": rows}
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("OK", "WARN", "FAIL")}
    return f"Doctor: {counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL."


action(
    Action(
        "doctor-run",
        "Run doctor",
        "Run every deployment check `rampart doctor` runs (settings, keys, database, "
        "backups, audit chain) and show the results here.",
        _doctor,
        "/panel/operations",
        danger=False,
    )
)
action(
    Action(
        "backup-now",
        "Back up now",
        "Write an encrypted backup of the store to the backup destination now (as the "
        "scheduled job does); trading goes on meanwhile.",
        _backup_now,
        "/panel/operations",
        danger=False,
    )
)
action(
    Action(
        "audit-verify",
        "Verify audit chain",
        "Walk the whole audit log and check every entry's hash against the one before it.",
        _verify_audit,
        "/panel/operations",
        danger=False,
    )
)
