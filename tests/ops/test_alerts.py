"""Every default alert on simulated time: quiet at (or just short of) its threshold, firing past
it after its ``for``, notified once, repeated on the interval, resolved with a notice."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.observability import incidents
from rampart.observability.alerts.rules import AlertRule, default_rules
from rampart.store.db import open_database
from tests.ops.alert_drivers import DRIVERS
from tests.ops.alert_harness import STEP_S, Harness, tuned_rules

RULES = {rule.name: rule for rule in tuned_rules()}
FIXED_NAMES = {
    "P0": {
        "BooksDifferUnrepaired",
        "PositionUnprotectedLong",
        "DatabaseDown",
        "OrdersFailing",
        "AllWorkersDown",
        "NoWorkerRunning",
        "MassBreakerTrips",
        "ErrorRateCritical",
        "MemoryGrowth",
        "DatabaseErrors",
        "MessagingDown",
    },
    "P1": {
        "OrderSettledFromHistory",
        "PositionUnprotected",
        "WorkerDown",
        "SubscriberFailing",
        "ExecutionErrorRate",
        "ExchangeApiErrors",
        "FeedDisconnected",
        "ClockJump",
        "EventLagHigh",
        "ConsumerLagHigh",
        "ShardsUnheld",
        "OrderSuccessLow",
        "KillSwitchEngaged",
        "VenueReportUnexplained",
        "RpcDown",
        "RequestBudgetLow",
        "UptimeLow",
        "LatencyCritical",
        "PositionLossKill",
        "MarketDataHeld",
        "MarketDataSuspectMany",
        "AnomalyWidespread",
        "CandlesStopped",
        "DeployRolledBack",
        "ApiSuccessLow",
        "BackupMissed",
    },
    "P2": {
        "AgentOverran",
        "InvestorProblem",
        "LatencyDegraded",
        "DatabaseSlow",
        "ErrorSpike",
        "LlmBudgetExhausted",
        "HoldingsApart",
        "ReconciliationRepairs",
        "AuthFailureBurst",
        "RpcFailovers",
        "SwapConfirmationSlow",
        "BagsShareLow",
        "SupportTicketOverdue",
        "ErrorRateElevated",
        "MarketDataSuspect",
        "AnomalyDetected",
    },
}


BUSINESS_START_MS = 1_704_067_200_000
"""2024-01-01, the synthetic feed's first candle, while the ops clock is years later."""


@pytest.fixture
def db(tmp_path: Path) -> sa.Engine:
    engine = open_database(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield engine
    engine.dispose()


def test_default_rules_carry_the_contract_names_and_levels() -> None:
    by_level: dict[str, set[str]] = {}
    for rule in default_rules():
        by_level.setdefault(rule.severity, set()).add(rule.name)
    assert not next(r for r in default_rules() if r.name == "BagsShareLow").enabled
    assert by_level == FIXED_NAMES
    assert set(DRIVERS) == set(RULES)
    json.dumps([rule.to_dict() for rule in default_rules()])


def _hold_until_for(h: Harness, rule: AlertRule) -> None:
    """Step to just before ``for`` ends: nothing may be sent yet."""
    driver = DRIVERS[rule.name]
    waited = 0
    while waited + STEP_S < rule.for_s:
        h.advance(STEP_S, driver.sustain_fire)
        waited += STEP_S
        assert not h.of(rule.name), f"{rule.name} fired after {waited} s, before its for"
    h.advance(rule.for_s - waited, driver.sustain_fire)


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_fires_after_for_repeats_and_resolves(name: str, db: sa.Engine) -> None:
    rule, driver = RULES[name], DRIVERS[name]
    h = Harness(db)
    driver.fire(h)
    h.evaluate()
    if rule.for_s > 0:
        assert not h.of(name), "an alert must wait for its for duration"
        _hold_until_for(h, rule)

    fired = h.of(name)
    assert [n.kind for n in fired] == ["firing"]
    notice = fired[0]
    assert notice.severity == rule.severity and rule.holds(notice.value or 0.0)
    assert notice.incident_id is not None
    stored = incidents.get_incident(db, notice.incident_id)
    assert stored is not None and stored.status == "open" and stored.rule == name

    # Held for the whole repeat interval: one more notice, exactly at the interval.
    for _ in range(14):
        h.advance(60, driver.sustain_fire)
    assert [n.kind for n in h.of(name)] == ["firing"]
    h.advance(60, driver.sustain_fire)
    assert [n.kind for n in h.of(name)] == ["firing", "repeat"]

    driver.clear(h)
    waited = 0
    limit = rule.signal.window() + 2 * STEP_S
    while not h.of(name, "resolved") and waited <= limit:
        h.advance(STEP_S)
        waited += STEP_S
    assert [n.kind for n in h.of(name)] == ["firing", "repeat", "resolved"]
    done = incidents.get_incident(db, notice.incident_id)
    assert done is not None and done.status == "resolved" and done.notifications == 2
    kinds = [e.kind for e in incidents.incident_timeline(db, notice.incident_id)]
    assert kinds == ["opened", "notified", "repeated", "resolved"]
    assert len(incidents.list_incidents(db)) == len({n.key for n in h.notices})


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_stays_quiet_on_its_threshold(name: str, db: sa.Engine) -> None:
    rule, driver = RULES[name], DRIVERS[name]
    h = Harness(db)
    driver.quiet(h)
    h.evaluate()
    for _ in range(int(rule.for_s // STEP_S) + 12):
        h.advance(STEP_S, driver.sustain_quiet)
    assert not h.of(name)
    assert not h.engine.pending.get(name)


def test_ratio_rules_wait_for_enough_samples(db: sa.Engine) -> None:
    h = Harness(db)
    h.answers(0, 2)  # two refusals out of two: not yet evidence that nothing can be placed
    for _ in range(30):
        h.advance(STEP_S)
    assert not h.of("OrdersFailing")
    h.answers(0, 1)
    h.advance(STEP_S)
    h.advance(RULES["OrdersFailing"].for_s)
    assert [n.kind for n in h.of("OrdersFailing")] == ["firing"]


def test_acknowledging_stops_repeats_but_not_the_resolve_notice(db: sa.Engine) -> None:
    h = Harness(db, repeat_every_s=300)
    h.kill_switch(True)
    h.evaluate()
    (notice,) = h.of("KillSwitchEngaged")
    assert notice.incident_id is not None
    acked = incidents.acknowledge(db, notice.incident_id, "alice", h.clock.now_ms())
    assert acked.status == "acknowledged" and acked.acknowledged_by == "alice"
    for _ in range(20):
        h.advance(60)
    assert [n.kind for n in h.of("KillSwitchEngaged")] == ["firing"]
    h.kill_switch(False)
    h.advance(STEP_S)
    assert [n.kind for n in h.of("KillSwitchEngaged")] == ["firing", "resolved"]
    record = incidents.get_incident(db, notice.incident_id)
    assert record is not None and record.status == "resolved"
    assert record.acknowledged_by == "alice"


def test_engine_acknowledge_takes_effect_at_once(db: sa.Engine) -> None:
    h = Harness(db, repeat_every_s=60)
    h.metrics.event_lag(5000)
    h.evaluate()
    h.advance(60)
    (fired,) = h.of("EventLagHigh")
    assert fired.incident_id is not None
    h.engine.acknowledge(fired.incident_id, "bob")
    for _ in range(5):
        h.advance(60)
    assert [n.kind for n in h.of("EventLagHigh")] == ["firing"]


def test_incidents_are_deduplicated_by_rule_and_labels(db: sa.Engine) -> None:
    h = Harness(db)
    h.metrics.feed_staleness("BTC/USDT", 120)
    h.metrics.feed_staleness("ETH/USDT", 90)
    for _ in range(10):
        h.advance(STEP_S)
    keys = sorted(n.key for n in h.of("FeedDisconnected"))
    assert keys == ["FeedDisconnected{symbol=BTC/USDT}", "FeedDisconnected{symbol=ETH/USDT}"]
    stored = incidents.list_incidents(db, "open")
    assert sorted(r.key for r in stored) == keys
    assert {r.labels["symbol"] for r in stored} == {"BTC/USDT", "ETH/USDT"}
    h.metrics.feed_staleness("ETH/USDT", 1)
    h.advance(STEP_S)
    assert [n.key for n in h.of("FeedDisconnected", "resolved")] == [keys[1]]


def test_a_restart_takes_over_open_incidents(db: sa.Engine) -> None:
    first = Harness(db, repeat_every_s=600)
    first.kill_switch(True)
    first.evaluate()
    (opened,) = first.of("KillSwitchEngaged")
    # An incident of a rule that is gone by the next start is resolved, not kept forever.
    orphan = incidents.open_incident(
        db,
        key="Retired",
        rule="Retired",
        severity="P2",
        summary="old",
        value=1.0,
        threshold=1.0,
        labels={},
        now_ms=first.clock.now_ms(),
    )

    second = Harness(db, repeat_every_s=600, clock=first.clock)
    second.kill_switch(True)
    second.advance(STEP_S)
    assert not second.of("KillSwitchEngaged"), "a taken-over incident is not announced again"
    assert len(incidents.list_incidents(db, "active")) == 1
    retired = incidents.get_incident(db, orphan.id)
    assert retired is not None and retired.status == "resolved"
    second.advance(600)
    assert [n.kind for n in second.of("KillSwitchEngaged")] == ["repeat"]
    second.kill_switch(False)
    second.advance(STEP_S)
    resolved = second.of("KillSwitchEngaged", "resolved")
    assert [n.incident_id for n in resolved] == [opened.incident_id]


class Broken:
    async def send(self, notice: object) -> None:
        raise RuntimeError("chat is down")


def test_a_failing_notifier_is_recorded_and_evaluation_goes_on(db: sa.Engine) -> None:
    from rampart.observability.notify import CallbackNotifier, FanOut

    seen: list[str] = []

    async def record(notice: object) -> None:
        seen.append(getattr(notice, "rule", ""))

    h = Harness(db, notifier=FanOut([Broken(), CallbackNotifier(record)]))
    h.kill_switch(True)
    h.metrics.event_lag(2000)
    h.evaluate()
    h.advance(60)
    assert seen == ["KillSwitchEngaged", "EventLagHigh"]
    stored = incidents.list_incidents(db)
    assert sorted(r.rule for r in stored) == ["EventLagHigh", "KillSwitchEngaged"]
    for record_ in stored:
        timeline = incidents.incident_timeline(db, record_.id)
        assert [e.kind for e in timeline] == ["opened", "notify_failed"]
        assert "chat is down" in timeline[1].note


def test_database_down_is_still_announced_and_saved_once_it_returns(tmp_path: Path) -> None:
    def refuse() -> object:
        raise OSError("connection refused")

    dead = sa.create_engine("sqlite://", creator=refuse)
    h = Harness(dead)
    h.metrics.database_up(False)
    h.evaluate()
    h.advance(30)
    (notice,) = h.of("DatabaseDown")
    assert notice.kind == "firing" and notice.incident_id is None

    alive = open_database(f"sqlite:///{tmp_path / 'back.db'}")
    h.engine.db = alive
    h.advance(STEP_S)
    (saved,) = incidents.list_incidents(alive, "open")
    assert saved.rule == "DatabaseDown"
    h.metrics.database_up(True)
    # DatabaseDown also counts failures over a minute (a flapping store): like every windowed
    # rule, a process resolves it once it has watched that minute itself.
    h.advance(30)
    assert [n.kind for n in h.of("DatabaseDown")] == ["firing", "resolved"]
    done = incidents.get_incident(alive, saved.id)
    assert done is not None and done.status == "resolved"
    alive.dispose()


def test_run_evaluates_on_the_clock_until_stopped(db: sa.Engine) -> None:
    h = Harness(db)
    h.kill_switch(True)
    beats: list[int] = []
    stop = asyncio.Event()

    def beat() -> None:
        beats.append(h.clock.now_ms())
        if len(beats) >= 6:
            stop.set()

    start = h.clock.now_ms()
    asyncio.run(asyncio.wait_for(h.engine.run(stop, beat), timeout=30))
    assert h.engine.evaluations == 3
    assert h.clock.now_ms() - start == 2 * STEP_S * 1000
    assert [n.kind for n in h.of("KillSwitchEngaged")] == ["firing"]


def test_refreshers_update_gauges_before_each_evaluation(db: sa.Engine) -> None:
    h = Harness(db)
    lag = iter([10, 5000, 5000])

    def set_lag() -> None:
        h.metrics.event_lag(next(lag))

    async def broken() -> None:
        raise RuntimeError("probe failed")

    h.engine.add_refresher(broken)
    h.engine.add_refresher(set_lag)
    h.evaluate()
    h.advance(STEP_S)
    h.advance(RULES["EventLagHigh"].for_s)
    assert [n.kind for n in h.of("EventLagHigh")] == ["firing"]


def test_incidents_are_dated_on_the_business_clock_and_timed_on_the_ops_clock(
    db: sa.Engine,
) -> None:
    """A paper service at 300×: the alert's `for` and repeats run on wall time, while the
    incident, its notices and its resolution carry the orders' (simulated) time."""
    rule, driver = RULES["KillSwitchEngaged"], DRIVERS["KillSwitchEngaged"]
    business = SimClock(BUSINESS_START_MS)
    h = Harness(db, stamp=business)
    driver.fire(h)
    h.evaluate()
    if rule.for_s > 0:
        _hold_until_for(h, rule)
    fired = h.of(rule.name)
    assert [n.kind for n in fired] == ["firing"]
    assert fired[0].ts == BUSINESS_START_MS and fired[0].opened_at == BUSINESS_START_MS
    stored = incidents.get_incident(db, fired[0].incident_id or 0)
    assert stored is not None and stored.opened_at == BUSINESS_START_MS

    business.advance(3_600_000)  # an hour of trading passes in 12 wall seconds
    driver.clear(h)
    while not h.of(rule.name, "resolved"):
        h.advance(STEP_S)
    done = incidents.get_incident(db, stored.id)
    assert done is not None and done.resolved_at == BUSINESS_START_MS + 3_600_000
