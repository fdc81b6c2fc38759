"""The parts of the anomaly watch no end-to-end test held (the mutation area
``anomaly``): the robust statistics a PnL jump is judged by, the band a fill is measured
against, the series ``AnomalyWatch`` keeps for the alert rules, and DatabaseDown's signal
tuned and written as PromQL."""

from __future__ import annotations

import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from prometheus_client import CollectorRegistry, generate_latest
from structlog.testing import capture_logs

from rampart.domain.events import CapitalChanged, EquitySnapshot, ReconciliationRepaired
from rampart.observability.alerts.database import FAILURES, StoreDownSignal
from rampart.observability.alerts.signals import increase_promql
from rampart.observability.anomaly_watch import AnomalyMetrics, AnomalyWatch
from rampart.risk.anomalies import (
    Anomaly,
    AnomalyDetector,
    AnomalyKind,
    AnomalyLimits,
    Band,
    PnlWindow,
    fill_deviation,
    median,
)

D = Decimal


def test_the_median_of_odd_and_even_counts_and_of_nothing() -> None:
    assert median([5.0]) == 5.0
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([7.0, 1.0, 3.0, 5.0, 9.0]) == 5.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([1.0, 2.0, 10.0, 20.0, 30.0, 40.0]) == 15.0
    with pytest.raises(ValueError, match=r"^median of nothing$"):
        median([])


def test_a_return_is_judged_against_the_window_before_it_once_there_are_enough() -> None:
    window = PnlWindow(size=4, min_samples=3)
    assert [window.judge(r) for r in (0.01, -0.01, 0.02)] == [None, None, None]
    # Median 0.01, deviations 0, 0.02, 0.01: MAD 0.01, σ 0.014826.
    distance, sigma = window.judge(0.05) or (0.0, 0.0)
    assert sigma == pytest.approx(0.014826) and distance == pytest.approx(0.04 / 0.014826)
    assert list(window.returns) == [0.01, -0.01, 0.02, 0.05]
    window.judge(0.03)  # the fifth: the oldest leaves the window of four
    assert list(window.returns) == [-0.01, 0.02, 0.05, 0.03]
    flat = PnlWindow(size=10, min_samples=2)
    flat.judge(0.0)
    flat.judge(0.0)
    assert flat.judge(0.0) == (0.0, 0.0)  # no move on a flat past is no jump
    assert flat.judge(0.01) == (float("inf"), 0.0)


def test_a_fill_is_measured_outside_the_band_widened_to_the_mark() -> None:
    band = Band(D(99), D(101), D(100))
    assert fill_deviation(D(99), band) == 0.0 and fill_deviation(D(101), band) == 0.0
    assert fill_deviation(D(98), band) == pytest.approx(0.01)
    assert fill_deviation(D(103), band) == pytest.approx(0.02)
    assert fill_deviation(D(200), Band(D(99), D(101), D(0))) == 0.0  # no mark: no verdict


def _anomaly(account: str, kind: AnomalyKind, ts: int, figures: str) -> Anomaly:
    return Anomaly(account, kind, ts, 0.03, 0.005, figures)


class _Detector:
    limits = AnomalyLimits(hold_ms=1_000)

    def __init__(self) -> None:
        self.next: list[Anomaly] = []

    def on_event(self, event: Any) -> list[Anomaly]:
        found, self.next = self.next, []
        return found


def _value(r: CollectorRegistry, name: str, **labels: str) -> float | None:
    return r.get_sample_value(name, labels)


def test_the_watch_holds_each_anomaly_for_its_hour_and_counts_accounts_per_kind() -> None:
    r = CollectorRegistry()
    metrics = AnomalyMetrics(r)
    text = generate_latest(r).decode()
    assert "# HELP rampart_anomalies_total Anomalies found, by kind." in text
    assert (
        "# HELP rampart_anomaly_active 1 while an account's anomaly is held (hold_ms on the "
        "orders' clock); figures says what was measured against which limit." in text
    )
    assert "# HELP rampart_anomaly_accounts Accounts with an anomaly of the kind held now." in text
    for kind in AnomalyKind:  # every kind at zero from the start
        assert _value(r, "rampart_anomalies_total", kind=kind.value) == 0
        assert _value(r, "rampart_anomaly_accounts", kind=kind.value) == 0
    detector, seen = _Detector(), list[Anomaly]()
    watch = AnomalyWatch(detector, metrics, seen.append)  # type: ignore[arg-type]
    assert (watch.count, watch.held) == (0, {})
    fill, pnl = AnomalyKind.FILL_OFF_MARK, AnomalyKind.PNL_JUMP
    first = _anomaly("a1", fill, 100, "fill 3 % off")
    detector.next = [first, _anomaly("a2", fill, 100, "fill 2 % off")]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    with capture_logs() as logs:
        watch.on_event(SimpleNamespace(ts=100))  # type: ignore[arg-type]
    assert logs[0] == {
        "event": "anomaly",
        "log_level": "warning",
        "account_id": "a1",
        "kind": "fill_off_mark",
        "value": 0.03,
        "limit": 0.005,
        "figures": "fill 3 % off",
    }
    assert seen[0] is first and watch.count == 2
    assert _value(r, "rampart_anomalies_total", kind="fill_off_mark") == 2
    assert _value(r, "rampart_anomaly_accounts", kind="fill_off_mark") == 2
    assert _value(r, "rampart_anomaly_active", account="a1", kind="fill_off_mark",
                  figures="fill 3 % off") == 1  # fmt: skip
    # A newer anomaly of the same account and kind takes the older one's place.
    detector.next = [_anomaly("a1", fill, 600, "fill 9 % off"), _anomaly("a1", pnl, 600, "pnl")]
    watch.on_event(SimpleNamespace(ts=600))  # type: ignore[arg-type]
    assert _value(r, "rampart_anomaly_active", account="a1", kind="fill_off_mark",
                  figures="fill 3 % off") is None  # fmt: skip
    assert _value(r, "rampart_anomaly_active", account="a1", kind="fill_off_mark",
                  figures="fill 9 % off") == 1  # fmt: skip
    assert _value(r, "rampart_anomaly_accounts", kind="fill_off_mark") == 2
    assert _value(r, "rampart_anomaly_accounts", kind="pnl_jump") == 1
    assert watch.held[("a1", fill)][1] == 600 + 1_000
    # a2's lapses at 1 100 (held from 100 for 1 000 ms), exactly; a1's are held to 1 600.
    watch.on_event(SimpleNamespace(ts=1_099))  # type: ignore[arg-type]
    assert _value(r, "rampart_anomaly_accounts", kind="fill_off_mark") == 2
    watch.on_event(SimpleNamespace(ts=1_100))  # type: ignore[arg-type]
    assert _value(r, "rampart_anomaly_accounts", kind="fill_off_mark") == 1
    assert _value(r, "rampart_anomaly_active", account="a2", kind="fill_off_mark",
                  figures="fill 2 % off") is None  # fmt: skip
    watch.expire(1_600)
    assert watch.held == {} and watch.count == 4
    assert _value(r, "rampart_anomaly_accounts", kind="pnl_jump") == 0
    assert _value(r, "rampart_anomalies_total", kind="fill_off_mark") == 3
    assert len(seen) == 4


def test_a_watch_without_a_listener_still_holds_and_counts() -> None:
    r = CollectorRegistry()
    detector = _Detector()
    watch = AnomalyWatch(detector, AnomalyMetrics(r))  # type: ignore[arg-type]
    detector.next = [_anomaly("a1", AnomalyKind.ORDER_SPIKE, 5, "orders 40 in 60 s")]
    watch.on_event(SimpleNamespace(ts=5))  # type: ignore[arg-type]
    assert watch.count == 1 and _value(r, "rampart_anomaly_accounts", kind="order_spike") == 1


class _View:
    def __init__(self, ups: list[float], failures: float | None) -> None:
        self.ups, self.failures = ups, failures

    def series(self, name: str, match: object) -> list[tuple[dict[str, str], float]]:
        assert name == "rampart_database_up"
        return [({}, v) for v in self.ups]

    def increase(self, name: str, window_s: float, match: object, by: object) -> dict[Any, float]:
        assert (name, window_s) == (FAILURES, 60.0)
        return {} if self.failures is None else {(): self.failures}


def test_database_down_reads_the_gauge_and_the_failures_and_nothing_without_either() -> None:
    signal = StoreDownSignal()

    def value(ups: list[float], failures: float | None) -> list[float]:
        return [x.value for x in signal.compute(_View(ups, failures))]  # type: ignore[arg-type]

    assert value([], None) == []
    assert value([], 3.0) == [1.0] and value([], 2.0) == [0.0]  # counted, no gauge yet
    assert value([1.0], None) == [0.0] and value([1.0, 0.0], None) == [1.0]


def test_database_down_is_tuned_and_written_as_promql() -> None:
    signal = StoreDownSignal()
    assert signal.tuned(None, None) == signal
    assert signal.tuned(30.0, None) == StoreDownSignal(window_s=30.0, flaps=3)
    assert signal.tuned(None, 5) == StoreDownSignal(window_s=60.0, flaps=5)
    assert signal.tuned(30.0, 5).min_samples == 5
    count = increase_promql(FAILURES, 60.0, {})
    assert signal.promql() == (
        'max(label_replace(min(rampart_database_up) < bool 1, "part", "down", "", "") or '
        f'label_replace({count} >= bool 3, "part", "flapping", "", ""))'
    )
    assert "rampart_database_failures_total" in count


def _detector() -> AnomalyDetector:
    return AnomalyDetector(AnomalyLimits(pnl_min_samples=3), lambda _s, _t: None, lambda _a: 20)


def _snap(ts: int, equity: str, positions: str = "0", cash: str | None = None) -> EquitySnapshot:
    held = D(positions)
    money = D(cash) if cash is not None else D(equity) - held
    return EquitySnapshot(ts, "a1", money, held, D(equity), D(0))


def test_coins_moved_by_reconciliation_are_unexplained_and_other_repairs_are_not() -> None:
    d = _detector()
    gone = ReconciliationRepaired(7, "a1", "position_adjusted", None, None, "sold 1 BTC")
    assert d.on_event(gone) == [
        Anomaly(
            "a1",
            AnomalyKind.BALANCE_UNEXPLAINED,
            7,
            1.0,
            0.0,
            "coins: position_adjusted by reconciliation",
        )
    ]
    named = ReconciliationRepaired(8, "a1", "position_adjusted", None, "BTC/USDT", "x")
    assert d.on_event(named)[0].figures == "BTC/USDT: position_adjusted by reconciliation"
    assert d.on_event(ReconciliationRepaired(9, "a1", "fill_booked", "c1", "BTC/USDT", "")) == []


def test_money_set_to_the_venues_is_measured_against_the_equity_else_the_old_balance() -> None:
    d = _detector()
    d.on_event(_snap(1, "10000"))
    moved = CapitalChanged(2, "a1", D(10_000), D(9_950), "venue")
    assert d.on_event(moved) == [
        Anomaly(
            "a1",
            AnomalyKind.BALANCE_UNEXPLAINED,
            2,
            0.005,
            0.0001,
            "cash set to the venue's, -50 (0.50 % of equity) with no fill or transfer",
        )
    ]
    dust = CapitalChanged(3, "a1", D(10_000), D(9_999), "venue")  # exactly the tolerance
    assert d.on_event(dust) == []
    empty = _detector()
    empty.on_event(_snap(1, "0"))  # nothing left: the old balance is the base
    assert empty.on_event(CapitalChanged(2, "a1", D(200), D(100), "venue"))[0].value == 0.5
    assert empty.on_event(CapitalChanged(3, "a1", D(0), D(5), "venue"))[0].value == float("inf")


def test_intervals_are_judged_only_with_an_equity_and_pnl_only_when_a_position_was_held() -> None:
    d = _detector()
    d.on_event(_snap(0, "0"))
    d.on_event(_snap(1, "10000"))  # after a zero equity: nothing to measure against
    assert d.judged[AnomalyKind.BALANCE_UNEXPLAINED] == 0
    for ts in (2, 3):  # flat and still: balances judged, no return for the PnL window
        d.on_event(_snap(ts, "10000"))
    assert d.judged[AnomalyKind.BALANCE_UNEXPLAINED] == 2
    assert list(d._accounts["a1"].pnl.returns) == []
    for ts, equity in ((4, "10010"), (5, "10000"), (6, "10020"), (7, "10010")):
        d.on_event(_snap(ts, equity, positions="5000", cash="5000"))  # held, cash still
    assert d.judged[AnomalyKind.BALANCE_UNEXPLAINED] == 6
    assert d.judged[AnomalyKind.PNL_JUMP] == 1  # the fourth held return, after three samples
    assert len(d._accounts["a1"].pnl.returns) == 4
