"""GO/NO-GO: every gate and every launch-checklist item the system can check, with its
measured value, its threshold and its verdict. GO only when every criterion passes; an
inconclusive criterion is a NO-GO, never a pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.clock import ms_to_datetime
from rampart.rollout.controller import RolloutController, Status
from rampart.rollout.evidence import AccountSetting, check_evidence
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.settings import RolloutConfig, RolloutSettings
from rampart.rollout.targets import Target, launch_targets
from rampart.store import ops_records
from rampart.store.db import script_head, stored_revision
from rampart.store.models import credentials
from rampart.venues.settings import VenueConfig

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    kind: str
    """``gate`` or ``checklist``."""
    measured: str
    threshold: str
    verdict: Verdict
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "measured": self.measured,
            "threshold": self.threshold,
            "verdict": self.verdict.value,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class GoNoGo:
    ts: int
    stage: str
    window_start: int
    criteria: tuple[Criterion, ...]
    targets: tuple[Target, ...] = ()
    """The post-launch targets with their windows (rollout/targets.py): report lines that
    do not decide GO."""

    @property
    def go(self) -> bool:
        return all(c.verdict is Verdict.PASS for c in self.criteria)

    @property
    def failing(self) -> list[Criterion]:
        return [c for c in self.criteria if c.verdict is not Verdict.PASS]

    def summary(self) -> str:
        if self.go:
            return f"GO: all {len(self.criteria)} criteria pass on the '{self.stage}' stage."
        names = ", ".join(f"{c.name} ({c.verdict.value})" for c in self.failing)
        return f"NO-GO: {names}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": "GO" if self.go else "NO-GO",
            "summary": self.summary(),
            "ts": self.ts,
            "stage": self.stage,
            "window_start": self.window_start,
            "criteria": [c.to_dict() for c in self.criteria],
            "targets": [t.to_dict() for t in self.targets],
        }


def _age(now: int, ts: int) -> str:
    days = (now - ts) / DAY_MS
    return f"{days:.1f} days ago ({ms_to_datetime(ts):%Y-%m-%d %H:%M} UTC)"


def _recent(db: sa.Engine, kind: str, name: str, now: int, days: float) -> Criterion:
    event = ops_records.last_event(db, kind)
    bound = f"within {days:g} days"
    if event is None:
        return Criterion(name, "checklist", "never", bound, Verdict.FAIL)
    ok = now - event.ts <= days * DAY_MS
    return Criterion(
        name,
        "checklist",
        _age(now, event.ts),
        bound,
        Verdict.PASS if ok else Verdict.FAIL,
        f"by {event.actor}",
    )


def _credentials(venue: VenueConfig, db: sa.Engine) -> Criterion:
    with db.connect() as conn:
        sealed = int(conn.execute(sa.select(sa.func.count()).select_from(credentials)).scalar_one())
    plain = sorted(venue.credentials)
    if plain:
        return Criterion(
            "credentials encrypted",
            "checklist",
            f"{len(plain)} key(s) in clear in the settings",
            "none in clear",
            Verdict.FAIL,
            "move them with `rampart secrets` (accounts " + ", ".join(plain) + ")",
        )
    return Criterion(
        "credentials encrypted",
        "checklist",
        f"{sealed} sealed, 0 in clear",
        "none in clear",
        Verdict.PASS,
    )


def _migrations(db: sa.Engine) -> Criterion:
    # Read without Alembic (a read-only command stays quick); the same answers as
    # store.migrate.current_revision/head_revision.
    current, head = stored_revision(db), script_head()
    ok = current == head
    return Criterion(
        "migrations current",
        "checklist",
        str(current or "none"),
        head,
        Verdict.PASS if ok else Verdict.FAIL,
        "" if ok else "run `rampart run` once, or the migrate step of the deploy",
    )


def _duration(ctl: RolloutController) -> Criterion:
    status = ctl.status()
    if not status.enabled:
        return Criterion(
            "stage duration met",
            "checklist",
            "rollout off",
            "—",
            Verdict.PASS,
            "the open stage has no minimum duration",
        )
    hours, need = status.in_stage_ms / 3_600_000, status.min_duration_ms / 3_600_000
    return Criterion(
        "stage duration met",
        "checklist",
        f"{hours:.1f} h in '{status.stage}'",
        f">= {need:g} h",
        Verdict.PASS if status.in_stage_ms >= status.min_duration_ms else Verdict.FAIL,
    )


def go_nogo(settings: RolloutSettings, ctl: RolloutController) -> GoNoGo:
    db, now = ctl.db, ctl.clock.now_ms()
    days = settings.rollout.checklist_days
    start, results = ctl.measure(now)
    criteria = [
        Criterion(
            r.gate.name,
            "gate",
            f"{r.gate.show(r.value)} ({r.samples} samples)",
            r.gate.bound + (f", >= {r.gate.min_samples} samples" if r.gate.min_samples else ""),
            r.verdict,
            r.reason,
        )
        for r in results
    ]
    criteria += [
        _recent(db, ops_records.RESTORE_DRILL, "backup restored", now, days),
        _recent(db, ops_records.ALERT_TEST, "alert channels tested", now, days),
        _credentials(settings.venue, db),
        _migrations(db),
        _recent(db, ops_records.KILL_DRILL, "kill-switch drill", now, days),
        _duration(ctl),
    ]
    if evidence_required(settings.rollout, ctl.status()):
        accounts: Sequence[AccountSetting] = getattr(settings, "accounts", ())
        criteria.append(_evidence(db, accounts, settings.rollout))
    targets = launch_targets(db, now, ctl.uptime_grace_ms, _stamp, settings.rollout.targets)
    return GoNoGo(now, ctl.status().stage, start, tuple(criteria), targets)


def _stamp(ms: int) -> str:
    return ms_to_datetime(ms).strftime("%Y-%m-%d")


def evidence_required(cfg: RolloutConfig, status: Status) -> bool:
    """From ``evidence.from_stage`` on: when the stage in force or the one GO/NO-GO would
    promote to is that stage or a later one, and always without the staged rollout (GO is
    then the launch itself) or with ``evidence.required``."""
    names = cfg.stage_names()
    if cfg.evidence.required or not status.enabled or cfg.evidence.from_stage not in names:
        return True
    ahead = status.next_stage or status.stage
    first = names.index(cfg.evidence.from_stage)
    return any(s in names and names.index(s) >= first for s in (status.stage, ahead))


def _evidence(db: sa.Engine, accounts: Sequence[AccountSetting], cfg: RolloutConfig) -> Criterion:
    found = check_evidence(db, accounts, cfg.evidence)
    waiver = ops_records.last_event(db, ops_records.EVIDENCE_WAIVER)
    if found.verdict is not Verdict.PASS and waiver is not None and waiver.detail.get("waived"):
        # The operator's recorded choice, shown with who, when and why, and what it covers.
        return Criterion(
            "research evidence",
            "checklist",
            f"waived by {waiver.actor} on {ms_to_datetime(waiver.ts):%Y-%m-%d %H:%M} UTC",
            found.threshold,
            Verdict.PASS,
            f"{waiver.detail.get('reason', '')}; without the waiver: {found.measured}"
            + (f" ({found.detail})" if found.detail else ""),
        )
    return Criterion(
        "research evidence",
        "checklist",
        found.measured,
        found.threshold,
        found.verdict,
        found.detail,
    )
