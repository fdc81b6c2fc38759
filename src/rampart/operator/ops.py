"""What the facade does and reads for the operator's own work (incidents, drills, the audit
log, reconciliation repairs, the operations records, reports and models), for every front.

The API, the panel and the bot act and read through these, so an incident acknowledged from
the panel and from the bot is checked, recorded and answered the same way, and no front opens
the store itself. Blocking reads say so: call them in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from rampart.domain.errors import RampartError, StoreError
from rampart.ml.registry import ModelRegistry
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.observability import incidents as incident_store
from rampart.operator.errors import Conflict, UnknownIncident
from rampart.reports.build import make_report
from rampart.reports.revenue import revenue
from rampart.reports.store import get_report, list_reports
from rampart.store import ops_records
from rampart.store.audit import AuditLog, Verdict, record_safely
from rampart.store.models import reconciliation_repairs

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.observability.incidents import IncidentRecord
    from rampart.operator.session import Session
    from rampart.reports.build import Report
    from rampart.reports.revenue import Revenue
    from rampart.reports.store import StoredReport
    from rampart.store.ops_records import OpsEvent

ALERT_TEST = ops_records.ALERT_TEST
KILL_DRILL = ops_records.KILL_DRILL
RESTORE_DRILL = ops_records.RESTORE_DRILL
BACKUP_CREATED = ops_records.BACKUP_CREATED
INCIDENT_ACK = "operator.incident.ack"
"""An incident acknowledged (its audit entry, one of the facade's numbered actions)."""
MODEL_PROMOTE = "operator.model.promote"
MODEL_ROLLBACK = "operator.model.rollback"


@dataclass(frozen=True, slots=True)
class ModelAction:
    """What a model promotion or rollback came to, and the sentence saying it."""

    production: str
    previous: str | None
    message: str


class OpsActions:
    """Mixed into :class:`rampart.operator.control.Operator` (which has the session and the
    business clock)."""

    _session: Session
    business: Clock
    save_now: Callable[[], Awaitable[None]]
    audit: Callable[..., Awaitable[None]]

    def _store(self) -> Any:
        db = getattr(self._session, "db", None)
        if db is None:
            raise RampartError("This needs the database, and the service has none open.")
        return db

    async def record(
        self, actor: str, action: str, target: str, detail: dict[str, object] | None = None
    ) -> None:
        """Record what a front saw happen that is not one of the facade's numbered actions (a
        command as typed, a refused attempt, a key checked and kept): written now, and a store
        that is down is logged rather than turned into a failed command (the front answered)."""
        db = getattr(self._session, "db", None)
        await record_safely(db, self.business.now_ms(), actor, action, target, detail)

    def notify_prefs(self) -> NotifyPrefs:
        """The investors' notice preferences as stored now (a bot run without the outbox)."""
        return NotifyPrefs(self._store()).load()

    # -- incidents ------------------------------------------------------------------------------

    async def incidents(self, status: str | None = None, limit: int = 50) -> list[IncidentRecord]:
        return await asyncio.to_thread(incident_store.list_incidents, self._store(), status, limit)

    def active_incidents_now(self) -> list[IncidentRecord]:
        """The incidents not yet resolved (blocking; none when the service has no store)."""
        db = getattr(self._session, "db", None)
        return [] if db is None else incident_store.active_incidents(db)

    def open_incidents_now(self, limit: int = 1000) -> int:
        """How many incidents are open (blocking)."""
        return len(incident_store.list_incidents(self._store(), "open", limit))

    async def acknowledge_incident(self, incident_id: int, actor: str) -> IncidentRecord:
        """Acknowledge one incident (its notices stop repeating) and audit it, once."""
        db = self._store()
        found = await asyncio.to_thread(incident_store.get_incident, db, incident_id)
        if found is None:
            raise UnknownIncident(f"There is no incident {incident_id}.")
        if found.status == "resolved":
            raise Conflict(f"Incident {incident_id} is already resolved.")
        now = self.business.now_ms()
        try:
            done = await asyncio.to_thread(incident_store.acknowledge, db, incident_id, actor, now)
        except StoreError:
            raise
        except RampartError as exc:  # resolved between the two reads
            raise Conflict(exc.message) from None
        # Through the facade's buffered, numbered path: a store that goes down after the
        # acknowledgement delays this entry rather than losing it.
        await self.audit(actor, INCIDENT_ACK, str(incident_id), rule=done.rule)
        return done

    async def set_incident_eta(
        self, incident_id: int, eta_ms: int | None, actor: str, now_ms: int
    ) -> IncidentRecord:
        """When the team expects ``incident_id`` fixed (told to the investors it affects)."""
        return await asyncio.to_thread(
            incident_store.set_eta, self._store(), incident_id, eta_ms, actor, now_ms
        )

    def backup_now(self, settings: Any, actor: str) -> Any:
        """Write a backup to the configured destination now, recorded in the store (blocking:
        call it in a worker thread); a RampartError says why not."""
        from rampart.backup.create import create_backup, destination_for
        from rampart.backup.keys import backup_key

        cfg = getattr(settings, "backup", None)
        if cfg is None:
            raise RampartError("Backups are not configured in this process.")
        key = backup_key(
            cfg.key, getattr(settings, "master_key", None), getattr(settings, "vault", None)
        )
        now = self.business.now_ms()
        dest = destination_for(cfg)
        return create_backup(
            settings.store.url, key, dest, now, record_in=self._store(), actor=actor
        )

    def backups(self, settings: Any) -> tuple[str, list[Any], str | None]:
        """The backups at the configured destination, oldest first (blocking): where they are,
        the list, and why it cannot be read (None: it can)."""
        from rampart.backup.create import destination_for, list_backups

        cfg = getattr(settings, "backup", None)
        if cfg is None:
            return "—", [], "Backups are not configured in this process."
        dest = destination_for(cfg)
        try:
            return dest.label, list(list_backups(dest)), None
        except RampartError as exc:
            return dest.label, [], exc.message

    # -- operations records (blocking reads) ----------------------------------------------------

    def last_event(self, kind: str) -> OpsEvent | None:
        return ops_records.last_event(self._store(), kind)

    def audit_head(self) -> tuple[int, str]:
        return AuditLog(self._store()).head()

    def verify_audit(self) -> Verdict:
        return AuditLog(self._store()).verify()

    def repairs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Reconciliation's repairs, newest first."""
        t = reconciliation_repairs
        query = sa.select(t).order_by(t.c.ts.desc(), t.c.id.desc()).limit(limit)
        with self._store().connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings().all()]

    # -- reports --------------------------------------------------------------------------------

    async def make_report(
        self, settings: Any, kind: str, day: date, *, account: str | None = None
    ) -> Report:
        """Compute and store a report, after saving what the engine booked (so it is current to
        the last candle)."""
        await self.save_now()
        now = self.business.now_ms()
        return await asyncio.to_thread(
            make_report, self._store(), settings, kind, day, now_ms=now, account=account
        )

    async def revenue(self, settings: Any, weeks: int = 4) -> Revenue:
        """Revenue and fees by ISO week, the current one to date, after saving what the engine
        booked (so it is current to the last candle)."""
        await self.save_now()
        now = self.business.now_ms()
        return await asyncio.to_thread(revenue, self._store(), settings, weeks, now)

    async def report(self, report_id: int) -> StoredReport | None:
        return await asyncio.to_thread(get_report, self._store(), report_id)

    async def reports(self, kind: str | None = None, limit: int = 50) -> list[StoredReport]:
        return await asyncio.to_thread(list_reports, self._store(), kind=kind, limit=limit)

    # -- models ---------------------------------------------------------------------------------

    def model_registry(self, models_dir: Any) -> ModelRegistry:
        return ModelRegistry(self._store(), models_dir)

    def model_serving(self) -> dict[str, Any] | None:
        """What the running service's model source serves (None: no source here)."""
        source = getattr(self._session, "models", None)
        return None if source is None else dict(source.status())

    def _refresh_models(self) -> None:
        # The running service switches at once instead of at its next poll.
        source = getattr(self._session, "models", None)
        if source is not None:
            source.refresh(force=True)

    async def promote_model(
        self, models_dir: Any, version: str, actor: str, reason: str = ""
    ) -> ModelAction:
        """Make ``version`` production (its artifact verified first); audited once, as the
        facade's numbered, buffered ``operator.model.promote``."""
        registry = self.model_registry(models_dir)
        now = self.business.now_ms()
        before = await asyncio.to_thread(registry.production)
        mv = await asyncio.to_thread(registry.promote, version, actor, now, reason, audit=False)
        self._refresh_models()
        previous = before.version if before else None
        await self.audit(
            actor,
            MODEL_PROMOTE,
            mv.version,
            **{"from": previous, "to": mv.version, "reason": reason},
        )
        return ModelAction(mv.version, previous, f"Model {mv.version} is in production.")

    async def rollback_model(self, models_dir: Any, actor: str, reason: str = "") -> ModelAction:
        """Put the version that served before the current one back."""
        registry = self.model_registry(models_dir)
        now = self.business.now_ms()
        old, new = await asyncio.to_thread(registry.rollback, actor, now, reason, audit=False)
        self._refresh_models()
        await self.audit(actor, MODEL_ROLLBACK, new, **{"from": old, "to": new, "reason": reason})
        return ModelAction(new, old, f"Rolled back: {new} is in production again.")


__all__ = [
    "ALERT_TEST",
    "BACKUP_CREATED",
    "KILL_DRILL",
    "RESTORE_DRILL",
    "ModelAction",
    "OpsActions",
    "UnknownIncident",
]
