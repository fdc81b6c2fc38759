"""The service soak's judge: clean evidence passes on every line, and one failure planted in it
flips that criterion's line, and only that one, to FAIL (the verdict with it)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rampart_testkit.soak_service.collect import holdings, parse_metrics
from rampart_testkit.soak_service.evidence import (
    AlertSeen,
    BackupCheck,
    Evidence,
    FaultWindow,
    Holding,
    JobRun,
    Life,
    Message,
)
from rampart_testkit.soak_service.judge import CRITERIA, FAIL, INCOMPLETE, PASS, judge
from rampart_testkit.soak_service.report import render

MB = 1 << 20
DAY1 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a Monday: where the service's feed starts
MIN = 60_000
DAY2 = DAY1 + 1440 * MIN


def _ran(job: str, slot: int, late: int = MIN) -> JobRun:
    return JobRun(job, "", "ok", "done", slot, slot + late)


def clean() -> Evidence:
    """A day with three planted kills in which everything went right."""
    lives = [
        Life(pid=100 + i, started_wall_s=0.0, ended_by="planted kill", rss_bytes=[200 * MB] * 60)
        for i in range(3)
    ]
    lives.append(Life(pid=200, started_wall_s=0.0, ended_by="stop", rss_bytes=[200 * MB] * 60))
    for life in lives:
        life.order_latency_sum_s, life.order_latency_count = 2.0, 100  # 20 ms each
    faults = [
        FaultWindow("error", 1_000, 2_000, 500, ("ExchangeApiErrors",), 1_000),
        FaultWindow("latency", 3_000, 4_000, 500, (), 1_000),
        FaultWindow("db_outage", 5_000, 6_000, 500, ("DatabaseDown",), 1_000),
    ]
    alerts = [
        AlertSeen("ExchangeApiErrors", "P1", 1_500, 2_600),
        AlertSeen("ErrorRateCritical", "P0", 1_600, 2_700),  # the fault's own page
        AlertSeen("DatabaseDown", "P0", 5_200, 6_300),
        AlertSeen("ErrorRateCritical", "P0", 2_800, 2_900),  # the quiet spell after a fault
        AlertSeen("ReconciliationRepairs", "P2", 9_000, None),  # outside any fault: shown
    ]
    return Evidence(
        hours=24,
        simulated_s=24 * 3600,
        kills_planned=3,
        lives=lives,
        alerts=alerts,
        faults=faults,
        faults_planned=("error", "latency", "db_outage"),
        book_trade_ids={"sim-1": ["1", "3"], "sim-2": ["2"]},
        sim_trade_ids={"sim-1": ["1", "3"], "sim-2": ["2"]},
        backups_expected=3,
        backups=[BackupCheck(f"b{i}.rbk", True, "48 tables") for i in range(4)],
        holdings=[Holding("sim-1", "BTC/USDT", "0.01", "0.01")],
        audit_read=True,
        audit_entries=40,
        messages=[
            Message("notice fill|sim-1|1", 7001, 1),
            Message("notice fill|sim-2|2", 7002, 1),
            Message("reply 1 to 7001 /help #1", 7001, 1),
        ],
        commands={"7001 /help #1": 1},
        begin_ms=DAY1 + MIN,
        end_ms=DAY2 + 31 * MIN,
        jobs=[
            _ran("backup", DAY2),
            _ran("wallet-keys", DAY2),
            _ran("report_daily", DAY2 + 5 * MIN),
            _ran("report_monthly", DAY2 + 15 * MIN),
            JobRun("report_weekly", "", "baseline", "scheduled", DAY1 + 10 * MIN, DAY1),
        ],
    )


def _p0(ev: Evidence) -> None:
    ev.alerts.append(AlertSeen("BooksDifferUnrepaired", "P0", 8_000, 8_500))


def _alert_never_fired(ev: Evidence) -> None:
    ev.alerts = [a for a in ev.alerts if a.rule != "DatabaseDown"]


def _alert_fired_late(ev: Evidence) -> None:
    ev.alerts[0] = AlertSeen("ExchangeApiErrors", "P1", 2_700, 3_000)


def _alert_never_resolved(ev: Evidence) -> None:
    ev.alerts[0] = AlertSeen("ExchangeApiErrors", "P1", 1_500, None)


def _alert_resolved_during_fault(ev: Evidence) -> None:
    ev.alerts[2] = AlertSeen("DatabaseDown", "P0", 5_200, 5_600)


def _fault_left_open(ev: Evidence) -> None:
    ev.alerts[1] = AlertSeen("ErrorRateCritical", "P0", 1_600, None)


def _aftermath_left_open(ev: Evidence) -> None:
    ev.alerts.append(AlertSeen("OrdersFailing", "P0", 2_700, None))


def _fault_not_injected(ev: Evidence) -> None:
    ev.faults = ev.faults[:2]
    ev.alerts = ev.alerts[:2]


def _crash(ev: Evidence) -> None:
    ev.lives[1].ended_by = "exit 1"


def _lost_trade(ev: Evidence) -> None:
    ev.sim_trade_ids["sim-2"].append("4")


def _booked_twice(ev: Evidence) -> None:
    ev.book_trade_ids["sim-1"].append("3")


def _phantom_fill(ev: Evidence) -> None:
    ev.book_trade_ids["sim-2"].append("99")


def _slow_orders(ev: Evidence) -> None:
    ev.lives[0].order_latency_sum_s = 1000.0  # 10 s each over 100 calls in one life


def _leak(ev: Evidence) -> None:
    ev.lives[2].rss_bytes = [200 * MB] * 30 + [205 * MB] * 30  # +2.5 %


def _missing_backup(ev: Evidence) -> None:
    ev.backups = ev.backups[:2]


def _broken_backup(ev: Evidence) -> None:
    ev.backups[1] = BackupCheck("b1.rbk", False, "BackupError: checksum mismatch")


def _bare_coin(ev: Evidence) -> None:
    ev.holdings.append(Holding("sim-2", "ETH/USDT", "0.5", "0"))


def _audit_broken(ev: Evidence) -> None:
    ev.audit_problem = "entry 7's hash does not match its content"


def _notice_twice(ev: Evidence) -> None:
    """A notice delivered again after a kill -9 (sent, but not yet marked sent)."""
    assert ev.messages is not None
    ev.messages[1] = Message("notice fill|sim-2|2", 7002, 2)


def _notice_lost(ev: Evidence) -> None:
    assert ev.messages is not None
    ev.messages[0] = Message("notice fill|sim-1|1", 7001, 0)


def _reply_twice(ev: Evidence) -> None:
    assert ev.messages is not None
    ev.messages[2] = Message("reply 1 to 7001 /help #1", 7001, 2)


def _command_unanswered(ev: Evidence) -> None:
    ev.commands["7002 /portfolio #2"] = 0


def _daily_report_missed(ev: Evidence) -> None:
    ev.jobs[2] = _ran("report_daily", DAY1 + 5 * MIN)  # the day's turn came, its report did not


PLANTED: list[tuple[str, Callable[[Evidence], None]]] = [
    ("critical_failures", _p0),
    ("critical_failures", _crash),
    ("alerts", _alert_never_fired),
    ("alerts", _alert_never_resolved),
    ("alerts", _alert_resolved_during_fault),
    ("alerts", _fault_left_open),
    ("alerts", _aftermath_left_open),
    ("alerts", _fault_not_injected),
    ("reconciliation", _lost_trade),
    ("reconciliation", _booked_twice),
    ("reconciliation", _phantom_fill),
    ("order_latency", _slow_orders),
    ("memory_growth", _leak),
    ("backups", _missing_backup),
    ("backups", _broken_backup),
    ("scheduled_jobs", _daily_report_missed),
    ("stops", _bare_coin),
    ("audit", _audit_broken),
    ("messages", _notice_twice),
    ("messages", _notice_lost),
    ("messages", _reply_twice),
    ("messages", _command_unanswered),
]
NAMES = [c.__name__ for c in CRITERIA]


def test_clean_evidence_passes_every_line() -> None:
    lines, verdict = judge(clean())
    assert [c.passed for c in lines] == [True] * len(CRITERIA), lines
    assert verdict == PASS


def test_every_criterion_has_a_planted_failure() -> None:
    assert {name for name, _ in PLANTED} == set(NAMES)


@pytest.mark.parametrize(("criterion", "plant"), PLANTED, ids=[p.__name__ for _, p in PLANTED])
def test_a_planted_failure_flips_its_line_and_only_its_line(
    criterion: str, plant: Callable[[Evidence], None]
) -> None:
    ev = copy.deepcopy(clean())
    plant(ev)
    lines, verdict = judge(ev)
    failed = {NAMES[i] for i, c in enumerate(lines) if c.passed is False}
    assert failed == {criterion}
    assert verdict == FAIL
    text, _ = render(ev, speed=120, when=datetime(2026, 11, 29, tzinfo=UTC))
    row = next(
        line
        for line in text.splitlines()
        if line.startswith(f"| {lines[NAMES.index(criterion)].name} |")
    )
    assert "| FAIL |" in row
    assert "**Verdict: FAIL**" in text


def test_a_planted_kill_is_not_a_crash_but_a_death_of_its_own_is() -> None:
    ev = clean()
    assert judge(ev)[0][0].passed is True
    ev.lives[0].ended_by = "signal 9"  # killed, but not by the run
    assert judge(ev)[0][0].passed is False


def test_what_a_short_run_cannot_show_leaves_it_incomplete_not_passed() -> None:
    ev = clean()
    for life in ev.lives:
        life.rss_bytes = life.rss_bytes[:59]
    lines, verdict = judge(ev)
    assert lines[NAMES.index("memory_growth")].passed is None
    assert verdict == INCOMPLETE


def test_a_p0_alert_a_planted_fault_raised_is_not_a_critical_failure_but_one_outside_is() -> None:
    ev = clean()
    assert judge(ev)[0][0].passed is True
    ev.faults = []  # the same page with no fault that explains it
    line = judge(ev)[0][0]
    assert line.passed is False and "ErrorRateCritical" in line.value


def test_a_p0_alert_after_a_fault_s_quiet_spell_is_a_critical_failure() -> None:
    ev = clean()
    ev.alerts.append(AlertSeen("ErrorRateCritical", "P0", 7_100, 7_200))  # 6_000 + 1_000 before
    line = judge(ev)[0][0]
    assert line.passed is False and "ErrorRateCritical" in line.value


def test_an_alert_opened_after_its_fault_and_its_slack_is_not_its_fault_s() -> None:
    ev = clean()
    _alert_fired_late(ev)
    lines, verdict = judge(ev)
    line = lines[NAMES.index("alerts")]
    assert line.passed is False and "error: ExchangeApiErrors never fired" in line.value
    assert verdict == FAIL


def test_a_run_without_faults_leaves_alerts_unjudged_and_can_still_pass() -> None:
    ev = clean()
    ev.faults, ev.faults_planned = [], ()
    ev.alerts = [a for a in ev.alerts if a.severity != "P0"]
    lines, verdict = judge(ev)
    assert lines[NAMES.index("alerts")].passed is None
    assert verdict == PASS


def test_a_run_without_the_bot_says_so_and_can_still_pass() -> None:
    ev = clean()
    ev.messages = None
    lines, verdict = judge(ev)
    line = lines[NAMES.index("messages")]
    assert line.passed is None and "no bot ran" in line.value
    assert verdict == PASS


def test_the_messages_line_gives_its_figure_and_names_what_went_wrong() -> None:
    line = judge(clean())[0][NAMES.index("messages")]
    assert line.passed is True
    assert line.value == "3/3 delivered exactly once (2 notices, 1 replies); 1/1 commands answered"
    ev = clean()
    _notice_twice(ev)
    _notice_lost(ev)
    _command_unanswered(ev)
    line = judge(ev)[0][NAMES.index("messages")]
    assert line.passed is False
    assert line.value.startswith("1/3 delivered exactly once"), line.value
    assert "1 sent more than once: notice fill|sim-2|2 (2×)" in line.value
    assert "1 never sent: notice fill|sim-1|1" in line.value
    assert "1 commands unanswered: 7002 /portfolio #2" in line.value


def test_a_withheld_notice_is_shown_not_counted_lost() -> None:
    ev = clean()
    ev.withheld = 2
    line = judge(ev)[0][NAMES.index("messages")]
    assert line.passed is True and "2 notices withheld as no longer true" in line.value


def test_unread_simulator_trades_fail_reconciliation() -> None:
    ev = clean()
    ev.sim_read_error = "TimeoutError: "
    assert judge(ev)[0][NAMES.index("reconciliation")].passed is False


def test_order_latency_is_read_from_every_label_set_of_the_histogram() -> None:
    text = "\n".join(
        [
            "# HELP rampart_order_latency_seconds Order call latency",
            'rampart_order_latency_seconds_bucket{le="0.1",venue="binance"} 3.0',
            'rampart_order_latency_seconds_sum{venue="binance"} 0.25',
            'rampart_order_latency_seconds_count{venue="binance"} 5.0',
            'rampart_order_latency_seconds_sum{venue="paper"} 0.75',
            'rampart_order_latency_seconds_count{venue="paper"} 5.0',
            'rampart_request_latency_seconds_sum{route="/health"} 9.0',
        ]
    )
    assert parse_metrics(text) == (1.0, 10)


def test_a_holding_without_a_resting_stop_is_named_with_its_quantity() -> None:
    held = {"sim-1": {"BTC/USDT": Decimal("0.01")}, "sim-2": {"ETH/USDT": Decimal("0.5")}}
    stopped = {"sim-1": {"BTC/USDT": Decimal("0.01")}}
    found = holdings(held, stopped)
    assert found == [
        Holding("sim-1", "BTC/USDT", "0.01", "0.01"),
        Holding("sim-2", "ETH/USDT", "0.5", "0"),
    ]


def test_an_alert_still_open_from_before_a_fault_is_named_as_such() -> None:
    ev = clean()
    ev.alerts[0] = AlertSeen("ExchangeApiErrors", "P1", 500, 2_600)  # before the fault began
    line = judge(ev)[0][NAMES.index("alerts")]
    assert line.passed is False
    assert "error: ExchangeApiErrors never fired (ExchangeApiErrors still open from before it)" in (
        line.value
    )


def test_any_one_of_a_fault_s_expected_alerts_is_enough_and_none_is_named_with_all() -> None:
    ev = clean()
    ev.faults[0] = FaultWindow("error", 1_000, 2_000, 500, ("ExchangeApiErrors", "OrdersFailing"))
    ev.alerts[0] = AlertSeen("OrdersFailing", "P0", 1_500, 2_600)
    assert judge(ev)[0][NAMES.index("alerts")].passed is True
    ev.alerts[0] = AlertSeen("LatencyCritical", "P1", 1_500, 2_600)
    line = judge(ev)[0][NAMES.index("alerts")]
    assert line.passed is False
    assert "error: ExchangeApiErrors or OrdersFailing never fired" in line.value
