"""Gates: a metric, a threshold, a minimum number of samples and a failure limit.

In the manner of progressive-delivery analysis (Argo Rollouts, Flagger): too few samples is
*inconclusive*, never a pass; a gate only causes a rollback after ``failure_limit``
consecutive failing evaluations, so one noisy window does not step a launch back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ORDER_SUCCESS = "order_success"
EXECUTION_ERRORS = "execution_error_rate"
OPEN_P0 = "open_p0_incidents"
UPTIME = "uptime"
LATENCY_P95 = "order_latency_p95_ms"
POSITION_LOSSES = "position_losses_beyond_limit"
P1_INCIDENTS = "p1_incidents"
TRADING_USERS = "trading_users"
PROFIT = "trading_profit"
SHARPE_VS_HOLD = "sharpe_vs_buy_and_hold"
METRICS = (
    ORDER_SUCCESS,
    EXECUTION_ERRORS,
    OPEN_P0,
    UPTIME,
    LATENCY_P95,
    POSITION_LOSSES,
    P1_INCIDENTS,
    TRADING_USERS,
    PROFIT,
    SHARPE_VS_HOLD,
)
SHARPE_MARGIN = 0.3
"""LeviBot's "Sharpe > B&H + 0.3" (domain.performance.LAUNCH_MARGIN, research's too)."""


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a gate verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class Comparison(StrEnum):
    GE = ">="
    GT = ">"
    LE = "<="
    LT = "<"

    def holds(self, value: float, threshold: float) -> bool:
        if self is Comparison.GE:
            return value >= threshold
        if self is Comparison.GT:
            return value > threshold
        if self is Comparison.LE:
            return value <= threshold
        return value < threshold


@dataclass(frozen=True, slots=True)
class Gate:
    name: str
    metric: str
    threshold: float
    comparison: Comparison
    min_samples: int = 1
    failure_limit: int = 1
    """Consecutive failing evaluations before the gate asks for a rollback; 0: it never asks
    for one, it only blocks a promotion (users, profit, Sharpe: nothing to step back from)."""
    unit: str = ""
    """``ratio`` values are shown as percentages; ``ms`` and ``count`` as they are."""

    def show(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.unit == "ratio":
            return f"{value * 100:.2f} %"
        if self.unit == "ms":
            return f"{value:,.0f} ms"
        if self.unit == "money":
            return f"{value:+,.2f}"
        if self.unit == "sharpe":
            return f"{value:+.2f}"
        return f"{value:g}"

    @property
    def bound(self) -> str:
        return f"{self.comparison.value} {self.show(self.threshold)}"


@dataclass(frozen=True, slots=True)
class Measurement:
    """What the store says about one metric over a window: a value and how many samples."""

    value: float | None
    samples: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: Gate
    value: float | None
    samples: int
    verdict: Verdict
    reason: str

    def evidence(self) -> dict[str, object]:
        return {
            "gate": self.gate.name,
            "metric": self.gate.metric,
            "value": self.value,
            "threshold": self.gate.threshold,
            "comparison": self.gate.comparison.value,
            "samples": self.samples,
            "min_samples": self.gate.min_samples,
            "verdict": self.verdict.value,
            "reason": self.reason,
        }


def evaluate(gate: Gate, measured: Measurement) -> GateResult:
    """One gate's verdict on one measurement, with a sentence an operator can act on."""
    shown = gate.show(measured.value)
    if measured.value is None or measured.samples < gate.min_samples:
        reason = f"{gate.name}: {measured.samples} samples, {gate.min_samples} needed for a verdict"
        return GateResult(gate, measured.value, measured.samples, Verdict.INCONCLUSIVE, reason)
    ok = gate.comparison.holds(measured.value, gate.threshold)
    verdict = Verdict.PASS if ok else Verdict.FAIL
    word = "meets" if ok else "misses"
    reason = f"{gate.name}: {shown} {word} {gate.bound} over {measured.samples} samples"
    if measured.detail:
        reason += f" ({measured.detail})"
    return GateResult(gate, measured.value, measured.samples, verdict, reason)


def default_gates(
    latency_target_ms: float = 2000.0, uptime_target: float = 0.999
) -> tuple[Gate, ...]:
    """DESIGN §6's gates, at the launch plans' numbers. A hard safety signal (a P0, a loss past
    the limit) rolls back on the first failing evaluation; a rate needs two (latency three) so
    one bad window only holds. A P1 in the window, a loss-making or Sharpe-poor window only
    block a promotion (``failure_limit`` 0): they say "not yet", not "step back"."""
    return (
        Gate("order success", ORDER_SUCCESS, 0.95, Comparison.GE, 20, 2, "ratio"),
        Gate("execution errors", EXECUTION_ERRORS, 0.001, Comparison.LT, 20, 2, "ratio"),
        Gate("no P0 incident in the window", OPEN_P0, 0, Comparison.LE, 0, 1, "count"),
        Gate("no P1 incident in the window", P1_INCIDENTS, 0, Comparison.LE, 0, 0, "count"),
        Gate("uptime", UPTIME, uptime_target, Comparison.GE, 1, 2, "ratio"),
        Gate("p95 order latency", LATENCY_P95, latency_target_ms * 1.1, Comparison.LE, 20, 3, "ms"),
        Gate("no position loss beyond limit", POSITION_LOSSES, 0, Comparison.LE, 0, 1, "count"),
        Gate("trading profitable", PROFIT, 0, Comparison.GT, 10, 0, "money"),
        Gate(
            "Sharpe vs buy-and-hold", SHARPE_VS_HOLD, SHARPE_MARGIN, Comparison.GE, 20, 0, "sharpe"
        ),
    )


def users_gate(min_users: int) -> Gate:
    """A stage's own gate (``stages[].min_users``: 5 to leave ``limited``): at least that many
    investors traded in the window. Blocks a promotion only."""
    return Gate("users trading", TRADING_USERS, min_users, Comparison.GE, 0, 0, "count")


NEW_TAKES_REFUSED = "new_version_takes_refused"
"""A deploy's own measure: the shard takes the new version's workers failed since it started."""
NEW_VERSION_TAKES = Gate(
    "the new version's shard takes", NEW_TAKES_REFUSED, 2, Comparison.LE, 0, 1, "count"
)
"""Held to by every deploy step (not configured: it judges the version, not a stage): a version
whose workers cannot open the shards it was given (the exchange refuses every take) is rolled
back for that, at the first check that sees three."""
NEW_WORKER_ERRORS = "new_version_worker_errors"
"""A deploy's own measure: the error lines the new version's workers logged since the step
began, beyond what as many of the old version's workers logged over the same time."""
NEW_VERSION_ERRORS = Gate(
    "the new version's worker errors", NEW_WORKER_ERRORS, 9, Comparison.LE, 0, 1, "count"
)
"""Held to by every deploy step: ten error lines more than the old version's workers logged
(per worker, over the same step) roll it back at the first check that sees them. Errors both
versions log alike (a database blip, an exchange's outage) are not the new version's."""
NEW_ORDERS_REJECTED = "new_version_orders_rejected"
"""A deploy's own measure: the share of the moved accounts' orders created during the step
that the venue refused."""
NEW_VERSION_ORDERS = Gate(
    "the new version's rejected orders", NEW_ORDERS_REJECTED, 0.5, Comparison.LE, 0, 1, "ratio"
)
"""Held to by every deploy step, as the takes are: a version whose orders the venue refuses
(most of at least three, since the step began) is rolled back at the first check that sees
it, naming its rejected orders. Order success (95 %, 20 orders, three checks) would wait for
twenty orders a broken version may never send, and name only a rate; an occasional refusal
of a healthy version (a minimum notional) leaves this gate be."""
