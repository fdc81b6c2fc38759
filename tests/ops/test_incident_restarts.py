"""Incidents are continuous across restarts: the whole service (``Service`` with its supervisor,
health sampler and alert engine) opened and closed five times on one database, on an ops clock
the test drives, while the global kill switch stays engaged and an account stays halted by its
drawdown breaker.

Across the three restarts: the same two incidents, the acknowledgement kept, no resolved notice
and no second opening, the ``for`` timer carried over (InvestorProblem opens 60 s after the halt,
not 60 s after the restart) and the repeats of the unacknowledged incident exactly one repeat
interval after the previous send, whichever process sent it. Releasing both at the end resolves
both, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.domain.accounts import TradingState
from rampart.observability import incidents
from rampart.observability.alerts.rules import default_rules
from rampart.observability.notify import CallbackNotifier, Notice
from rampart.operator.control import Operator
from rampart.store.db import open_database
from rampart.wiring.service import Service
from tests.ops.alert_harness import Harness

T0 = 1_700_000_000_000
STEP_S = 5
REPEAT_S = 60
INVESTOR_FOR_S = 60
HALTED = "demo-trend"
Act = Callable[[Service], Awaitable[None]]


class StepClock(SimClock):
    """The ops clock, moved only by the test. A sleep's wake-up time is fixed when ``sleep`` is
    called, not when its coroutine first runs: the alert engine asks to sleep right after an
    evaluation, so once the test sees the evaluation counted, the next one is due exactly one
    interval later, however the event loop orders the tasks."""

    def __init__(self, start_ms: int) -> None:
        super().__init__(start_ms)
        self._moved = asyncio.Event()

    def set(self, ms: int) -> None:
        super().set(ms)
        self._moved.set()

    def sleep(self, seconds: float) -> Coroutine[object, object, None]:
        return self._until(self.now_ms() + int(seconds * 1000))

    async def _until(self, target: int) -> None:
        while self.now_ms() < target:
            self._moved.clear()
            await self._moved.wait()
        await asyncio.sleep(0)


@dataclass
class Sent:
    ops_s: float
    """Seconds since T0 on the ops clock when the notice went out."""
    notice: Notice


@dataclass
class Desk:
    tmp_path: Path
    clock: StepClock = field(default_factory=lambda: StepClock(T0))
    sent: list[Sent] = field(default_factory=list)
    restarts: int = 0

    @property
    def at_s(self) -> float:
        return (self.clock.now_ms() - T0) / 1000

    def settings(self) -> Settings:
        rules = self.tmp_path / "rules.yaml"
        # The candle loop is paced on wall time while this test drives the ops clock, so to
        # the health sampler the feed would look stalled (and the engine's beats stale):
        # those two rules would be telling the truth about this rig, not about restarts; so
        # would DatabaseSlow on a loaded machine (its statements' wall time is the machine's).
        rules.write_text("FeedDisconnected: {enabled: false}\nDatabaseSlow: {enabled: false}\n")
        return load_settings(
            store={"url": f"sqlite:///{self.tmp_path / 'rampart.db'}"},
            feed={"speed": 1.0},
            api={"enabled": False},
            alerts={
                "evaluate_every_s": STEP_S,
                "repeat_every_s": REPEAT_S,
                "rules_file": str(rules),
            },
            ops={"heartbeat_every_s": STEP_S, "worker_stale_s": 86_400},
        )

    def of(self, rule: str, kind: str | None = None) -> list[Sent]:
        return [
            s
            for s in self.sent
            if s.notice.rule == rule and (kind is None or s.notice.kind == kind)
        ]

    async def run_until(self, until_s: float, acts: dict[float, Act] | None = None) -> Service:
        """Open a new service on the database, run it (every component, supervised) until the
        ops clock reads ``until_s``, stop it and close it. ``acts[t](service)`` runs once the
        evaluation at ``t`` seconds is done (what a person does while the service is up)."""
        service = Service(
            self.settings(),
            Console(file=(self.tmp_path / "screen.txt").open("a"), width=160),
            view=False,
            ops_clock=self.clock,
            install_signals=False,
        )
        await service.open()
        alerts = service.alerts
        assert alerts is not None

        async def record(notice: Notice) -> None:
            self.sent.append(Sent(self.at_s, notice))

        alerts.notifier.add(CallbackNotifier(record))

        async def already_open() -> None:
            return None

        service.open = already_open  # type: ignore[method-assign]
        running = asyncio.create_task(service.run())
        await self._evaluated(alerts, 1)
        todo = dict(acts or {})
        while True:
            act = todo.pop(self.at_s, None)
            if act is not None:
                await act(service)
            if self.at_s >= until_s:
                break
            done = alerts.evaluations
            self.clock.advance(STEP_S * 1000)
            await self._evaluated(alerts, done + 1)
        assert not todo, f"acts never reached: {sorted(todo)}"
        service.stop.set()
        # Parts that sleep on the ops clock without watching ``stop`` (the scheduler) see it
        # when they wake: shutting down takes a second or two of ops time.
        for _ in range(STEP_S * 10):
            if running.done():
                break
            self.clock.advance(100)
            await asyncio.wait({running}, timeout=0.05)
        await asyncio.wait_for(running, 60)
        self.restarts += 1
        # The process is gone for a moment before the next one starts, on the same grid.
        self.clock.set(T0 + int((until_s + STEP_S) * 1000))
        return service

    @staticmethod
    async def _evaluated(alerts: object, count: int) -> None:
        for _ in range(20_000):
            if getattr(alerts, "evaluations", 0) >= count:
                return
            await asyncio.sleep(0.001)
        raise AssertionError(f"the alert engine did not evaluate {count} times")


async def _restored(service: Service) -> None:
    """Wait until the engine loop has loaded the checkpoint (at its first candle)."""
    engine = service.session.engine
    for _ in range(20_000):
        if engine.controls.global_kill:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the engine never restored the engaged kill switch")


async def _engage_and_halt(service: Service) -> None:
    session = service.session
    ops = Operator(session, service.lock, feed_symbols=service.symbols)
    await ops.engage_kill_switch("ops", "exchange maintenance")
    engine = session.engine
    acct = engine.accounts[HALTED]
    now = session.clock.now_ms()
    # The real breaker, shown an equity 15 % under the account's peak.
    peak = acct.breakers.peak_equity or acct.spec.capital
    trips = engine.breakers[HALTED].on_equity(acct.breakers, peak * Decimal("0.85"), now)
    await engine.apply_trips(acct, trips, now)
    assert acct.state is TradingState.HALTED and acct.breakers.halted_by == "max_drawdown"


def test_incidents_survive_three_restarts(tmp_path: Path) -> None:
    desk = Desk(tmp_path)

    async def acknowledge(service: Service) -> None:
        # The operator acknowledges the kill switch's P1, as the API does.
        (kill,) = desk.of("KillSwitchEngaged", "firing")
        assert service.alerts is not None and kill.notice.incident_id is not None
        service.alerts.acknowledge(kill.notice.incident_id, "ops")

    async def release(service: Service) -> None:
        await _restored(service)
        ops = Operator(service.session, service.lock, feed_symbols=service.symbols)
        await ops.release_kill_switch("ops", "maintenance over")
        await ops.resume_account(HALTED, "ops", "checked the drawdown", lift_breakers=True)

    async def scenario() -> None:
        # The halt is still pending (its for is 60 s) when the first process stops.
        await desk.run_until(30, {0: _engage_and_halt, 10: acknowledge})
        await desk.run_until(90)
        await desk.run_until(150)
        await desk.run_until(200)
        await desk.run_until(260, {205: release})  # the fourth start: the operator releases

    asyncio.run(asyncio.wait_for(scenario(), 600))
    assert desk.restarts == 5
    told = [(s.ops_s, s.notice.rule, s.notice.kind, s.notice.incident_id) for s in desk.sent]
    kill, problem = desk.of("KillSwitchEngaged"), desk.of("InvestorProblem")
    assert kill and problem, told
    kill_id, problem_id = kill[0].notice.incident_id, problem[0].notice.incident_id

    # The kill switch's P1: opened at once, acknowledged, then silent through three restarts
    # (no repeat, no resolved, no reopening) until its release.
    assert [(s.notice.kind, s.notice.incident_id) for s in kill] == [
        ("firing", kill_id),
        ("resolved", kill_id),
    ], told
    # Engaged just after the first evaluation at 0 s: told at the next one.
    assert kill[0].ops_s == STEP_S and kill[1].ops_s >= 205, told
    # The halted account: its ``for`` ran on from the halt in the run before (opened 60 s after
    # the halt, not 60 s after the restart), then a repeat exactly one interval after the last
    # send, whichever process sent it; resolved once, after the release.
    assert [(s.notice.kind, s.ops_s, s.notice.incident_id) for s in problem[:-1]] == [
        ("firing", STEP_S + INVESTOR_FOR_S, problem_id),
        ("repeat", STEP_S + INVESTOR_FOR_S + REPEAT_S, problem_id),
        ("repeat", STEP_S + INVESTOR_FOR_S + 2 * REPEAT_S, problem_id),
    ], told
    assert problem[-1].notice.kind == "resolved" and problem[-1].ops_s >= 205, told
    assert len([s for s in desk.sent if s.notice.kind == "resolved"]) == 2, told

    db = open_database(f"sqlite:///{tmp_path / 'rampart.db'}")
    try:
        stored = incidents.list_incidents(db)
        assert sorted(i.rule for i in stored) == ["InvestorProblem", "KillSwitchEngaged"]
        assert kill_id is not None
        record = incidents.get_incident(db, kill_id)
        assert record is not None and record.acknowledged_by == "ops"
        kinds = [e.kind for e in incidents.incident_timeline(db, kill_id)]
        assert kinds == ["opened", "notified", "acknowledged", "resolved"]
    finally:
        db.dispose()


# -- the engine alone: "no data yet" is not "cleared" ------------------------------------------


def test_nothing_resolves_before_the_restarted_sources_are_current(tmp_path: Path) -> None:
    """A process whose engine has not loaded its checkpoint yet reads the kill switch as off:
    that is no data, not an all-clear. The acknowledged incident stays, silent, and resolves
    only once the data is current and says so."""
    db = open_database(f"sqlite:///{tmp_path / 'alerts.db'}")
    try:
        first = Harness(db, repeat_every_s=REPEAT_S)
        first.kill_switch(True)
        first.evaluate()
        (opened,) = first.of("KillSwitchEngaged")
        assert opened.incident_id is not None
        first.engine.acknowledge(opened.incident_id, "ops")

        current = {"yes": False}
        second = Harness(db, clock=first.clock, ready=lambda: current["yes"])
        for _ in range(6):  # half a minute with the gauge still at its fresh 0
            second.advance(STEP_S)
        assert second.notices == []
        current["yes"] = True
        second.advance(STEP_S, lambda h: h.kill_switch(True))
        second.advance(REPEAT_S * 2)
        assert second.notices == [], "acknowledged: no repeat, and still the same incident"
        second.advance(STEP_S, lambda h: h.kill_switch(False))
        assert [(n.kind, n.incident_id) for n in second.notices] == [
            ("resolved", opened.incident_id)
        ]
        assert len(incidents.list_incidents(db)) == 1
    finally:
        db.dispose()


def test_a_windowed_rule_resolves_after_the_new_process_watched_its_window(
    tmp_path: Path,
) -> None:
    """Counters start at zero in a new process: five exchange errors in the last 5 minutes
    before the restart are not in its window. ExchangeApiErrors stays open until the new
    process has watched 5 minutes itself, and repeats on schedule meanwhile."""
    db = open_database(f"sqlite:///{tmp_path / 'alerts.db'}")
    try:
        rule = next(r for r in default_rules() if r.name == "ExchangeApiErrors")
        first = Harness(db, repeat_every_s=REPEAT_S)
        first.exchange(5, 5)
        first.evaluate()
        first.advance(rule.for_s)
        (opened,) = first.of("ExchangeApiErrors")
        sent_at = first.clock.now_ms()

        second = Harness(db, repeat_every_s=REPEAT_S, clock=first.clock)
        second.advance(STEP_S)
        window_s = int(rule.signal.window())
        while second.clock.now_ms() - sent_at < (window_s + STEP_S) * 1000:
            second.advance(STEP_S)
        kinds = [(n.kind, n.incident_id) for n in second.notices]
        repeats = window_s // REPEAT_S
        assert kinds == [("repeat", opened.incident_id)] * repeats + [
            ("resolved", opened.incident_id)
        ], kinds
        resolved_after_s = (second.notices[-1].ts - sent_at) / 1000
        assert window_s + STEP_S >= resolved_after_s >= window_s
    finally:
        db.dispose()
