"""The in-service alert engine: rules evaluated on the Clock, incidents, notifications.

A condition must hold for a rule's ``for`` before an incident opens. Opening stores the
incident and notifies once; while it stays open and unacknowledged the notice repeats every
``repeat_every_s``; when the condition clears the incident resolves and a resolve notice goes
out. Incidents are deduplicated by key (rule and labels).

A restart continues, it does not start again. Before its first evaluation the engine takes back
from the store the incidents left open (acknowledged ones stay acknowledged), when each was last
told (the next repeat is one interval after that send, whichever process sent it) and the
conditions still waiting out their ``for`` (the wait goes on from when they began to hold; the
time the service was down counts as held, as the condition held on both sides of it). And a
freshly started process does not read "no data yet" as "the condition cleared": nothing
resolves until the sources say they are current (``ready``: the engine's checkpoint is loaded),
and then only once the process has watched the rule's whole window itself — counters start at
zero again after a restart, so a windowed rule (errors in 5 minutes) cannot tell a quiet window
from one it did not see. Until then a condition that reads false keeps its incident, and its
pending timer.

Neither a failing notifier nor a failing database stops evaluation: DatabaseDown must still be
announced when the incident cannot be written. Every alert is sent whether or not its incident
could be recorded (whatever the database said); one that could not is logged at error with the
store's reason and written once the store takes it. Notifier failures are logged and, when the
store allows, written on the incident's timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable, Iterable

import sqlalchemy as sa
import structlog

from rampart.clock import Clock
from rampart.domain.errors import RampartError
from rampart.observability import incidents as store
from rampart.observability.alerts.active import Active
from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import History, Reading, Samples, View, take_snapshot
from rampart.observability.logging import mask_text
from rampart.observability.metrics import Metrics
from rampart.observability.notify import FIRING, REPEAT, RESOLVED, Notice, Notifier
from rampart.store.errors import not_answering

log = structlog.get_logger("rampart.alerts")

HISTORY_MARGIN_MS = 60_000
STORE_RETRY_MS = 10_000
"""After a write the database did not answer, how long (ops time) the engine tries none: each
would hold the loop for the database's lock wait (SQLite's 5 s), past DatabaseDown's ``for``."""


class AlertEngine:
    def __init__(
        self,
        rules: Iterable[AlertRule],
        metrics: Metrics,
        db: sa.Engine | None,
        clock: Clock,
        notifier: Notifier,
        *,
        evaluate_every_s: float = 5.0,
        repeat_every_s: float = 900.0,
        stamp: Clock | None = None,
        ready: Callable[[], bool] | None = None,
        snapshot: Callable[[], Samples] | None = None,
        process_label: str | None = None,
    ) -> None:
        self._rules = list(rules)
        self.metrics = metrics
        self.db = db
        self.clock = clock
        """Ops time: evaluation cadence, ``for`` durations and repeats (what Prometheus does)."""
        self.stamp = stamp or clock
        """Business time: when incidents opened, were told, acknowledged and resolved, on the
        same axis as the orders, the reports and GO/NO-GO."""
        self.notifier = notifier
        self.evaluate_every_s = evaluate_every_s
        self.repeat_every_s = repeat_every_s
        longest = max((r.signal.window() for r in self._rules), default=0.0)
        self.history = History(int(longest * 1000) + HISTORY_MARGIN_MS, process_label)
        self._snapshot = snapshot or (lambda: take_snapshot(self.metrics.registry))
        """What the rules read: this process's registry, or (past one machine) the fleet's
        metrics merged, each series labelled ``process_label`` with the process it came from."""
        self._counters = sorted({n for r in self._rules for n in r.signal.counters()})
        self.pending: dict[str, int] = {}
        """Key → when its condition started to hold, for conditions not yet past ``for``."""
        self.active: dict[str, Active] = {}
        self._ready = ready
        """Whether what the rules read is current (None: always); see the module's docstring."""
        self.watching_since: int | None = None
        """Ops time of the first evaluation on current data: from then on a false condition is
        the truth, for each rule once its window has passed."""
        self._by_name = {rule.name: rule for rule in self._rules}
        self._resumed = False
        self._store_failed = False
        self._away_until: int | None = None  # no write tried before (see STORE_RETRY_MS)
        self.store_error = ""
        self._unrecorded: set[str] = set()
        """Why the store's last write or read failed (for the error log of an unrecorded
        alert)."""
        self._refreshers: list[Callable[[], object]] = []
        self.evaluations = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def rules(self) -> list[AlertRule]:
        return list(self._rules)

    def add_refresher(self, refresh: Callable[[], object]) -> None:
        """Run ``refresh`` (plain or async) before every evaluation, to bring gauges up to
        date: database probe, feed staleness, ``Metrics.sample_engine``. A failing refresher
        is logged and skipped."""
        self._refreshers.append(refresh)

    async def _refresh(self) -> None:
        for refresh in self._refreshers:
            try:
                result = refresh()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # stale gauges are better than no evaluation at all
                log.exception("alert_refresh_failed", refresher=getattr(refresh, "__name__", ""))

    def store_answered(self, up: bool) -> None:
        """What the service's own last write found: refused, the engine tries no write of its
        own for :data:`STORE_RETRY_MS`; taken, it writes again (what it owes first) at once."""
        self._away_until = None if up else self.clock.now_ms() + STORE_RETRY_MS

    # -- running -------------------------------------------------------------------------------

    def wake(self) -> None:
        """Evaluate now rather than at the next tick (safe from any thread).

        Called when the database refuses a write: the condition then starts to hold at the
        refusal, not up to one interval later, so DatabaseDown's page follows the first refused
        write by its ``for`` (10 s) rather than by ``for`` plus a tick (up to 15 s)."""
        loop = self._loop
        if loop is None:
            self._wake.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event, beat: Callable[[], None]) -> None:
        """Evaluate every ``evaluate_every_s`` on the Clock until ``stop`` is set (or sooner
        when woken)."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wake.clear()
            beat()
            await self.evaluate(self.clock.now_ms())
            beat()
            if stop.is_set():
                break
            await self._pause(stop)

    async def _pause(self, stop: asyncio.Event) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(self.evaluate_every_s))
        stopper = asyncio.ensure_future(stop.wait())
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, stopper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper, waker):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    # -- one evaluation ------------------------------------------------------------------------

    async def evaluate(self, now_ms: int) -> list[Notice]:
        """Evaluate every rule once at ``now_ms``; returns the notices it sent."""
        # One failed write per evaluation is enough: a database that is down may take seconds
        # to say so, and every further attempt would only delay the notices.
        self._store_failed = False
        at = self.stamp.now_ms() if self.stamp is not self.clock else now_ms
        await self._refresh()
        if not self._resumed:
            self._resume(now_ms)
        if self.watching_since is None and self._is_ready():
            self.watching_since = now_ms
        samples = self._snapshot()
        self.history.record(now_ms, samples, self._counters)
        view = View(now_ms, samples, self.history)
        self._sync_statuses()
        notices: list[tuple[Notice, Active]] = []
        firing: set[str] = set()
        for rule in self._rules:
            if not rule.enabled:
                continue
            for reading in self._readings(rule, view):
                if not rule.holds(reading.value):
                    continue
                key = rule.key(reading.labels)
                firing.add(key)
                notice = self._holds(rule, reading, key, now_ms, at)
                if notice is not None:
                    notices.append(notice)
        cleared = [k for k in self.pending if k not in firing and self._judged(k, now_ms)]
        for key in cleared:
            del self.pending[key]
        if cleared:
            self._store("clear pending alerts", lambda db: store.stop_pending(db, cleared))
        for key in [k for k in self.active if k not in firing]:
            if self._judged(key, now_ms):
                notices.append(self._resolve(self.active.pop(key), at, "the condition cleared"))
            elif (repeat := self._repeat_if_due(self.active[key], now_ms, at)) is not None:
                # Not known to have cleared (a process just started): still the incident.
                notices.append(repeat)
        self._persist_unsaved()
        await asyncio.gather(*(self._deliver(notice, active) for notice, active in notices))
        self.evaluations += 1
        return [notice for notice, _ in notices]

    def _is_ready(self) -> bool:
        if self._ready is None:
            return True
        try:
            return bool(self._ready())
        except Exception:  # an unanswerable question is "not yet", never a crash
            log.exception("alert_ready_check_failed")
            return False

    def _judged(self, key: str, now_ms: int) -> bool:
        """Whether a condition that reads false at ``now_ms`` is known to be false: the data is
        current and this process has watched the rule's whole window."""
        if self.watching_since is None:
            return False
        rule = self._by_name.get(key.split("{", 1)[0])
        window_ms = 0 if rule is None else int(rule.signal.window() * 1000)
        return now_ms - self.watching_since >= window_ms

    def _readings(self, rule: AlertRule, view: View) -> list[Reading]:
        try:
            return rule.signal.compute(view)
        except Exception:  # one broken signal must not silence every other rule
            log.exception("alert_rule_failed", rule=rule.name)
            return []

    def _holds(
        self, rule: AlertRule, reading: Reading, key: str, now_ms: int, at: int
    ) -> tuple[Notice, Active] | None:
        active = self.active.get(key)
        if active is not None:
            active.value = reading.value
            return self._repeat_if_due(active, now_ms, at)
        since = self.pending.get(key)
        if since is None:
            since = self.pending[key] = now_ms
            self._store(
                "remember a pending alert",
                lambda db: store.start_pending(db, key, rule.name, now_ms),
            )
        if now_ms - since < rule.for_s * 1000:
            return None
        del self.pending[key]
        self._store("clear a pending alert", lambda db: store.stop_pending(db, [key]))
        active = Active(
            key=key,
            rule=rule.name,
            severity=rule.severity,
            labels=dict(reading.labels),
            summary=rule.describe(reading.labels),
            threshold=rule.threshold,
            comparison=rule.comparison,
            opened_at=at,
            value=reading.value,
        )
        self.active[key] = active
        self._open(active, at)
        log.warning("incident_opened", rule=rule.name, key=key, value=reading.value)
        return self._notice(FIRING, active, now_ms, at), active

    def _repeat_if_due(self, active: Active, now_ms: int, at: int) -> tuple[Notice, Active] | None:
        due = active.last_notified_at is None or (
            now_ms - active.last_notified_at >= self.repeat_every_s * 1000
        )
        if active.status == store.OPEN and due:
            return self._notice(REPEAT, active, now_ms, at), active
        return None

    def _notice(self, kind: str, active: Active, now_ms: int | None, at: int) -> Notice:
        """``now_ms`` (ops time) is when repeats count from; ``at`` is what the notice says."""
        if now_ms is not None:
            active.last_notified_at = now_ms
        return Notice(
            kind=kind,
            rule=active.rule,
            severity=active.severity,
            key=active.key,
            summary=mask_text(active.summary),  # the same masking as every log line
            value=active.value,
            threshold=active.threshold,
            comparison=active.comparison,
            ts=at,
            opened_at=active.opened_at,
            incident_id=active.incident_id,
            labels=dict(active.labels),
        )

    def _resolve(self, active: Active, at: int, why: str) -> tuple[Notice, Active]:
        if active.incident_id is None:
            self._open(active, active.opened_at)  # keep its history even if it never got saved
        if active.incident_id is not None:
            self._store("resolve", lambda db: store.resolve(db, active.incident_id or 0, at, why))
        log.info("incident_resolved", rule=active.rule, key=active.key, why=why)
        return self._notice(RESOLVED, active, None, at), active

    async def _deliver(self, notice: Notice, active: Active) -> None:
        try:
            await self.notifier.send(notice)
        except Exception as exc:  # a notifier must never break evaluation
            reason = exc.message if isinstance(exc, RampartError) else f"{type(exc).__name__}"
            log.warning("alert_notify_failed", rule=notice.rule, key=notice.key, reason=reason)
            if active.incident_id is not None:
                incident_id = active.incident_id
                self._store(
                    "record a notification failure",
                    lambda db: store.add_event(db, incident_id, notice.ts, "notify_failed", reason),
                )
            return
        if active.incident_id is not None and notice.kind != RESOLVED:
            incident_id = active.incident_id
            kind = "notified" if notice.kind == FIRING else "repeated"
            sent_ops = active.last_notified_at
            self._store(
                "record a notification",
                lambda db: store.record_notification(
                    db,
                    incident_id,
                    notice.ts,
                    kind,
                    f"{kind}: {notice.summary}",
                    notice.value,
                    ops_ms=sent_ops,
                ),
            )

    # -- the store -----------------------------------------------------------------------------

    def _store(self, what: str, action: Callable[[sa.Engine], object]) -> object | None:
        """Run one write or read; on failure log why, keep it in ``store_error`` and return
        None. Only a database that does not answer skips the rest of the evaluation's writes
        (each would wait seconds to fail the same way); a statement refused for its own
        reason (a value the column cannot hold) leaves the other incidents' writes going."""
        if self.db is None:
            self.store_error = "no database is configured"
            return None
        away = self._away_until is not None and self.clock.now_ms() < self._away_until
        if self._store_failed or away:
            self.store_error = "the database did not answer a write a moment ago"
            return None
        try:
            done = action(self.db)
        except Exception as exc:  # the database may be the very thing that is down
            reason = exc.message if isinstance(exc, RampartError) else type(exc).__name__
            self.store_error = reason
            log.warning("alert_store_failed", action=what, reason=reason)
            if not_answering(exc):
                self._store_failed = True
                self.store_answered(False)
            return None
        self._away_until = None
        return done

    def _open(self, active: Active, now_ms: int) -> None:
        record = self._store(
            "open an incident",
            lambda db: store.open_incident(
                db,
                key=active.key,
                rule=active.rule,
                severity=active.severity,
                summary=active.summary,
                value=active.value,
                threshold=active.threshold,
                labels=active.labels,
                now_ms=now_ms,
            ),
        )
        if isinstance(record, store.IncidentRecord):
            active.incident_id = record.id
            active.status = record.status
            self._unrecorded.discard(active.key)
            return
        if active.key in self._unrecorded:
            return  # said at error once; each retry's failure is a warning of its own
        self._unrecorded.add(active.key)
        # Not recorded, still told: the notice goes out in this evaluation whatever the store
        # said, and the operator reading the logs sees which alert has no incident and why.
        log.error(
            "alert_not_recorded",
            rule=active.rule,
            key=active.key,
            severity=active.severity,
            reason=self.store_error,
            detail="the alert is sent anyway; its incident is written when the store takes it",
        )

    def _persist_unsaved(self) -> None:
        """Write incidents that opened while the database was away, once it is back."""
        for active in self.active.values():
            if active.incident_id is None:
                self._open(active, active.opened_at)

    def _resume(self, now_ms: int) -> None:
        """Take over what a previous run left: its open incidents (instead of opening twins),
        when each was last told, and the conditions still waiting out their ``for``.

        Retried at every evaluation until the store answers once.
        """
        found = self._store("read active incidents", store.active_incidents)
        if not isinstance(found, list):
            return
        timers = self._store("read pending alerts", store.pending_timers)
        if not isinstance(timers, list):
            return
        self._resumed = True
        at = self.stamp.now_ms() if self.stamp is not self.clock else now_ms
        known = {rule.name: rule for rule in self._rules if rule.enabled}
        gone = "the rule no longer exists or is disabled"
        for record in found:
            if record.rule not in known:
                self._store("resolve", lambda db, r=record: store.resolve(db, r.id, at, gone))
                continue
            current = self.active.get(record.key)
            if current is not None:
                # Opened in memory while the store was away: adopt the stored incident.
                current.incident_id = current.incident_id or record.id
                continue
            self.active[record.key] = Active(
                key=record.key,
                rule=record.rule,
                severity=record.severity,
                labels=dict(record.labels),
                summary=record.summary,
                threshold=record.threshold if record.threshold is not None else 0.0,
                comparison=known[record.rule].comparison,
                opened_at=record.opened_at,
                value=record.value,
                incident_id=record.id,
                status=record.status,
                # Repeats go on from the last send on the ops clock; an incident stored before
                # that time was kept counts from this start.
                last_notified_at=min(
                    now_ms, now_ms if record.notified_ops_at is None else record.notified_ops_at
                ),
            )
        stale = []
        for timer in timers:
            if timer.rule not in known or timer.key in self.active:
                stale.append(timer.key)
            else:
                held = self.pending.get(timer.key, timer.since)
                self.pending[timer.key] = min(held, timer.since)
        if stale:
            self._store("clear pending alerts", lambda db: store.stop_pending(db, stale))
        if found or timers:
            log.info("incidents_resumed", count=len(found), pending=len(timers) - len(stale))

    def _sync_statuses(self) -> None:
        """Pick up acknowledgements made through the API or the CLI since the last run."""
        watched = [a for a in self.active.values() if a.incident_id is not None]
        if not any(a.status == store.OPEN for a in watched):
            return
        found = self._store("read active incidents", store.active_incidents)
        if not isinstance(found, list):
            return
        status = {record.id: record.status for record in found}
        for active in self.active.values():
            if active.incident_id in status:
                active.status = status[active.incident_id]

    def forget(self) -> None:
        """Drop what is held in memory (incidents, timers, the counters' history): the next
        evaluation takes the incidents and timers back from the store. For an evaluator that
        stopped and starts again in a running process (past one machine, the ops lease lost
        and taken back): meanwhile another server may have opened or resolved incidents."""
        self.active.clear()
        self.pending.clear()
        self._resumed = False
        self.watching_since = None
        self.history = History(self.history.keep_ms, self.history.process_label)

    def acknowledge(self, incident_id: int, actor: str) -> store.IncidentRecord:
        """Acknowledge through the engine: stored, and repeats stop at once."""
        if self.db is None:
            raise RampartError("Incidents cannot be acknowledged without a database.")
        record = store.acknowledge(self.db, incident_id, actor, self.stamp.now_ms())
        for active in self.active.values():
            if active.incident_id == incident_id:
                active.status = record.status
        return record
