"""The rollout controller: measures the gates, promotes, holds or rolls back, and applies the
stage to the running engine.

Its state lives in the store (``rollout_state``), so ``rampart rollout …`` in another process
and the running service agree; the service applies a stage changed elsewhere at its next
evaluation. Every transition is stored with its evidence and written to the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from rampart.clock import Clock
from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import ConfigError, RampartError, present
from rampart.domain.stages import OPEN_STAGE, Stage
from rampart.observability.logging import LazyLogger
from rampart.operator.errors import Conflict
from rampart.rollout import inside
from rampart.rollout.enforce import Affected, bring_inside
from rampart.rollout.measure import measure
from rampart.rollout.measure_launch import Closes
from rampart.rollout.rules.decide import Decision, Outcome, decide
from rampart.rollout.rules.gates import Gate, GateResult, evaluate, users_gate
from rampart.rollout.settings import HOUR_MS, RolloutConfig, StageConfig
from rampart.rollout.state import RolloutState, add_evaluation, add_transition, load_state
from rampart.rollout.state import save_state as _save
from rampart.store import ops_records

if TYPE_CHECKING:
    from rampart.runtime.messaging import Messenger
    from rampart.trading.engine import Engine

log = LazyLogger("rampart.rollout")

FACADE_PREFIX = "operator."
"""What a stage change's action gets in front when the facade audits it (the store's
``FACADE``; the facade's numbering takes only actions that start with it)."""

DISABLED = "open"
"""The stage name shown while rollout is off: everything allowed, as without a rollout."""


class RolloutConflict(Conflict):
    """The rollout command does not apply now (nothing to approve, no stage to step back to)."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    ts: int
    stage: str
    window_start: int
    results: tuple[GateResult, ...]
    decision: Decision
    moved_to: str | None

    def evidence(self) -> dict[str, Any]:
        return {
            "window": [self.window_start, self.ts],
            "gates": [r.evidence() for r in self.results],
            "decision": self.decision.reason,
        }


@dataclass(frozen=True, slots=True)
class Status:
    enabled: bool
    stage: str
    entered_at: int | None
    in_stage_ms: int
    min_duration_ms: int
    pending_since: int | None
    held: bool
    hold_reason: str
    approval: str
    next_stage: str | None
    previous_stage: str | None
    last_evaluated_at: int | None
    streaks: dict[str, int]
    ramp: dict[str, Any] | None = None
    """The stage's timed ramp: the step in force, the next one and why it waits."""
    relax: dict[str, Any] | None = None
    """The stage's limits relaxed by stability: the level in force and why it waits."""

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


class RolloutController:
    def __init__(
        self,
        cfg: RolloutConfig,
        db: sa.Engine,
        clock: Clock,
        *,
        engine: Engine | None = None,
        lock: asyncio.Lock | None = None,
        messenger: Callable[[], Messenger | None] | None = None,
        uptime_grace_ms: int = 30_000,
        before_measure: Callable[[], Awaitable[None]] | None = None,
        closes: Closes | None = None,
        elsewhere: Callable[[], Awaitable[None]] | None = None,
        everyone: Callable[[], Sequence[AccountSpec]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.db = db
        self.clock = clock
        self.engine = engine
        self.lock = lock or asyncio.Lock()
        self._messenger = messenger or (lambda: None)
        self.uptime_grace_ms = uptime_grace_ms
        self._before_measure = before_measure
        self.closes = closes
        """The traded candles' closes (the Sharpe-against-buy-and-hold gate); None: none."""
        self._elsewhere = elsewhere
        """Past one machine (``rampart serve``, no engine here): tells the workers to apply
        the stored stage to theirs; they tell the investors it limits."""
        self._everyone = everyone
        """Past one machine: every account of the service (read from the store), so a ramp's
        capital total counts the fleet's accounts, not only this engine's."""
        self.auditor: Callable[..., Awaitable[None]] | None = None
        """How stage changes are audited: the operator facade's ``audit`` (set by the desk,
        so each is one numbered, buffered ``operator.rollout.…`` entry); None: directly."""

    # -- state --------------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self.cfg.enabled

    def _index(self, name: str) -> int:
        names = self.cfg.stage_names()
        if name not in names:
            raise ConfigError(
                f"The stored rollout stage '{name}' is not in 'rollout.stages' "
                f"({', '.join(names)}); add it back or roll back by hand."
            )
        return names.index(name)

    def _neighbours(self, name: str) -> tuple[StageConfig | None, StageConfig | None]:
        i, stages = self._index(name), self.cfg.stages
        return (stages[i - 1] if i > 0 else None, stages[i + 1] if i + 1 < len(stages) else None)

    def state(self) -> RolloutState:
        """The stored state; the first stage, stored now, when there is none yet."""
        if not self.enabled:
            return RolloutState(stage=DISABLED, entered_at=0)
        found = load_state(self.db)
        if found is not None:
            self._index(found.stage)
            return found
        now = self.clock.now_ms()
        first = self.cfg.stages[0].name
        state = RolloutState(stage=first, entered_at=now)
        with self.db.begin() as conn:
            _save(conn, state, now)
            add_transition(conn, now, "", first, "start", "system", "rollout enabled", {})
        ops_records.record_event(
            self.db, ops_records.STAGE_ENTERED, now, "system", {"stage": first}
        )
        self._audit(now, "system", "rollout.start", first, {})
        return state

    def stage_config(self, name: str | None = None) -> StageConfig | None:
        return self.cfg.stage(name or self.state().stage) if self.enabled else None

    def active_stage(self) -> Stage:
        cfg = self.stage_config()
        if cfg is None:
            return OPEN_STAGE
        return inside.narrowed(self, cfg)

    def status(self) -> Status:
        state, now = self.state(), self.clock.now_ms()
        if not self.enabled:
            return Status(
                False, DISABLED, None, 0, 0, None, False, "", self.cfg.approval, None, None,
                None, {},
            )  # fmt: skip
        prev, nxt = self._neighbours(state.stage)
        cfg = present(self.cfg.stage(state.stage), f"the settings of stage {state.stage}")
        return Status(
            True,
            state.stage,
            state.entered_at,
            max(0, now - state.entered_at),
            cfg.min_duration_ms,
            state.pending_since,
            state.held,
            state.hold_reason,
            self.cfg.approval,
            nxt.name if nxt else None,
            prev.name if prev else None,
            state.last_evaluated_at,
            dict(state.streaks),
            *inside.status(self, state, now),
        )

    def window_ms(self) -> int:
        cfg = self.stage_config()
        return self.cfg.window_ms(cfg) if cfg is not None else 24 * HOUR_MS

    # -- measuring ----------------------------------------------------------------------------

    def measure(self, now: int | None = None) -> tuple[int, tuple[GateResult, ...]]:
        """Every gate's result over the window ending now: (window start, results)."""
        end = self.clock.now_ms() if now is None else now
        start = end - self.window_ms()
        if self.enabled:
            # A stage is judged on its own time only: the failures that rolled the last stage
            # back must not roll this one back too.
            start = max(start, self.state().entered_at)
        measured = measure(
            self.db,
            start,
            end,
            loss_multiple=self.cfg.loss_multiple,
            uptime_grace_ms=self.uptime_grace_ms,
            closes=self.closes,
        )
        return start, tuple(evaluate(g, measured[g.metric]) for g in self.gates())

    def gates(self) -> tuple[Gate, ...]:
        """The configured gates and the current stage's own (its minimum of users trading)."""
        gates = self.cfg.gate_list()
        cfg = self.stage_config()
        if cfg is not None and cfg.min_users:
            gates += (users_gate(cfg.min_users),)
        return gates

    async def evaluate(self) -> Evaluation:
        """One scheduled evaluation: measure, decide, store, and act on the decision."""
        if self._before_measure is not None:
            await self._before_measure()
        await self.sync()
        now = self.clock.now_ms()
        state = self.state()
        start, results = self.measure(now)
        if not self.enabled:
            decision = Decision(Outcome.HOLD, "rollout is off: the open stage applies", {})
            return Evaluation(now, state.stage, start, results, decision, None)
        prev, nxt = self._neighbours(state.stage)
        cfg = present(self.cfg.stage(state.stage), f"the settings of stage {state.stage}")
        decision = decide(
            results,
            streaks=state.streaks,
            in_stage_ms=now - state.entered_at,
            min_duration_ms=cfg.min_duration_ms,
            approval=self.cfg.approval,
            has_next=nxt is not None,
            has_previous=prev is not None,
            held=state.held,
        )
        state.streaks = decision.streaks
        state.last_evaluated_at = now
        moved: str | None = None
        evaluation = Evaluation(now, state.stage, start, results, decision, None)
        evidence = evaluation.evidence()
        step_due = inside.due(self, state, results, decision, now, evidence)
        with self.db.begin() as conn:
            add_evaluation(
                conn, now, state.stage, start, decision.outcome.value, decision.reason, evidence
            )
            if decision.outcome is Outcome.PENDING and state.pending_since is None:
                state.pending_since = now
            elif decision.outcome is not Outcome.PENDING:
                state.pending_since = None
            _save(conn, state, now)
        if decision.outcome is Outcome.PROMOTE and nxt is not None:
            await self._move(state, nxt.name, "promote", "system", decision.reason, evidence)
            moved = nxt.name
        elif decision.outcome is Outcome.ROLLBACK and prev is not None:
            await self._move(state, prev.name, "rollback", "system", decision.reason, evidence)
            moved = prev.name
        elif step_due is not None:
            await inside.take(self, state, step_due, evidence)
        if not moved and decision.outcome is Outcome.PENDING and state.pending_since == now:
            await self._tell_operators(
                f"<b>Rollout</b>: stage <b>{state.stage}</b> passes every gate; promotion to "
                f"<b>{nxt.name if nxt else '?'}</b> waits for /approve."
            )
        log.info("rollout_evaluated", stage=state.stage, outcome=decision.outcome.value)
        return Evaluation(now, state.stage, start, results, decision, moved)

    # -- operator commands --------------------------------------------------------------------

    def _require_enabled(self) -> None:
        if not self.enabled:
            raise RolloutConflict(
                "The staged rollout is off (rollout.enabled: false): every account trades on "
                "the open stage."
            )

    async def approve(self, actor: str) -> str:
        """Promote a promotion waiting for approval; returns the stage now in force."""
        self._require_enabled()
        state = self.state()
        _, nxt = self._neighbours(state.stage)
        if state.pending_since is None or nxt is None:
            raise RolloutConflict(
                f"No promotion of the '{state.stage}' stage is waiting for approval: it needs "
                "every gate passing and its minimum duration served first."
            )
        reason = f"approved by {actor}"
        await self._move(state, nxt.name, "approve", actor, reason, {"approved_by": actor})
        return nxt.name

    async def hold(self, actor: str, reason: str, release: bool = False) -> RolloutState:
        """Stop (or, with ``release``, allow again) promotions of the current stage."""
        self._require_enabled()
        text = " ".join(reason.split())
        if not text:
            raise RampartError("Give a reason: it is recorded with who did what.")
        state, now = self.state(), self.clock.now_ms()
        if state.held != release:
            word = "held" if state.held else "not held"
            raise RolloutConflict(f"The '{state.stage}' stage is already {word}.")
        state.held, state.hold_reason = (False, "") if release else (True, text)
        kind = "release" if release else "hold"
        with self.db.begin() as conn:
            _save(conn, state, now)
            add_transition(conn, now, state.stage, state.stage, kind, actor, text, {})
        await self.audit_change(now, actor, f"rollout.{kind}", state.stage, {"reason": text})
        return state

    async def waive_evidence(self, actor: str, reason: str, withdraw: bool = False) -> None:
        """Set GO/NO-GO's research-evidence criterion aside (or, with ``withdraw``, ask for
        the evidence again): the operator's explicit choice, recorded and audited with why."""
        text = " ".join(reason.split())
        if not text:
            raise RampartError("Give a reason: it is recorded with who did what.")
        now = self.clock.now_ms()
        detail = {"waived": not withdraw, "reason": text}
        ops_records.record_event(self.db, ops_records.EVIDENCE_WAIVER, now, actor, detail)
        await self.audit_change(now, actor, "rollout.evidence_waiver", "research evidence", detail)

    async def rollback(self, actor: str, reason: str) -> str:
        """Step back one stage now; returns the stage now in force."""
        self._require_enabled()
        text = " ".join(reason.split())
        if not text:
            raise RampartError("Give a reason: it is recorded with who did what.")
        state = self.state()
        prev, _ = self._neighbours(state.stage)
        if prev is None:
            raise RolloutConflict(
                f"'{state.stage}' is the first stage: there is no stage to step back to; "
                "use the kill switch or pause accounts instead."
            )
        await self._move(state, prev.name, "rollback", actor, text, {"requested_by": actor})
        return prev.name

    # -- applying -----------------------------------------------------------------------------

    async def _move(
        self,
        state: RolloutState,
        to: str,
        kind: str,
        actor: str,
        reason: str,
        evidence: dict[str, Any],
    ) -> None:
        now = self.clock.now_ms()
        came_from = state.stage
        state.stage, state.entered_at = to, now
        state.pending_since, state.held, state.hold_reason = None, False, ""
        state.streaks = {}
        with self.db.begin() as conn:
            _save(conn, state, now)
            add_transition(conn, now, came_from, to, kind, actor, reason, evidence)
        ops_records.record_event(
            self.db, ops_records.STAGE_ENTERED, now, actor, {"stage": to, "from": came_from}
        )
        await self.audit_change(
            now, actor, f"rollout.{kind}", to, {"from": came_from, "reason": reason}
        )
        log.warning("rollout_transition", kind=kind, from_stage=came_from, to_stage=to)
        affected = await self.apply()
        await self.tell(kind, came_from, to, reason, affected)

    async def apply(self) -> list[Affected]:
        """Bring the running engine inside the stored stage; without one, have the workers
        bring theirs (nothing to report here: they tell the investors)."""
        if self.engine is None:
            if self._elsewhere is not None:
                await self._elsewhere()
            return []
        stage = self.active_stage()
        found = self._everyone
        everyone = await asyncio.to_thread(found) if found is not None else ()
        async with self.lock:
            return await bring_inside(self.engine, stage, everyone)

    async def start(self) -> list[Affected]:
        """At service start: put the stored stage on the engine and bring accounts inside."""
        return await self.sync()

    async def sync(self) -> list[Affected]:
        """Apply the stored stage (perhaps changed by the CLI in another process) and bring
        accounts added since inside; investors whose account changed are told."""
        affected = await self.apply()
        messenger = self._messenger()
        if messenger is not None:
            for item in affected:
                if item.change in ("reducing", "released"):
                    with contextlib.suppress(Exception):
                        await messenger.tell_account(item.account_id, item.message)
        return affected

    async def tell(
        self, kind: str, came_from: str, to: str, reason: str, affected: list[Affected]
    ) -> None:
        messenger = self._messenger()
        if messenger is None:
            return
        for item in affected:
            with contextlib.suppress(Exception):
                await messenger.tell_account(item.account_id, item.message)
        verb = {"rollback": "rolled back", "promote": "promoted", "approve": "promoted"}
        verb.update(inside.VERBS)
        await self._tell_operators(
            f"<b>Rollout {verb.get(kind, kind)}</b>: {came_from} → <b>{to}</b> ({reason}); "
            f"{len(affected)} account(s) changed."
        )

    async def _tell_operators(self, html: str) -> None:
        messenger = self._messenger()
        if messenger is not None:
            with contextlib.suppress(Exception):
                await messenger.tell_operators(html)

    async def audit_change(
        self, ts: int, actor: str, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        """Audit a stage change once: through :attr:`auditor` when the desk gave one (the
        operator facade's buffered, numbered path, as ``operator.<action>``), else directly."""
        if self.auditor is None:
            self._audit(ts, actor, action, target, detail)
            return
        try:
            await self.auditor(actor, FACADE_PREFIX + action, target, **detail)
        except Exception as exc:  # the transition row is the record; the audit copy is extra
            log.warning("rollout_audit_failed", error=str(exc))

    def _audit(self, ts: int, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        try:
            from rampart.store.audit import AuditLog

            AuditLog(self.db).record(ts, actor, action, target, detail)
        except Exception as exc:  # the transition row is the record; the audit copy is extra
            log.warning("rollout_audit_failed", error=str(exc))
