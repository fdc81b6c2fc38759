"""Decision times in constant memory: each percentile read back is the top of
the log-scale bucket the true one falls in, so it is never below it and within 1/8 above it."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.agents.decision_times import DecisionTimes, duration_text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 10**12), min_size=1, max_size=300),
    st.sampled_from([0.5, 0.9, 0.99, 1.0]),
)
def test_a_percentile_is_the_true_one_or_at_most_an_eighth_above(
    durations: list[int], q: float
) -> None:
    times = DecisionTimes()
    for ns in durations:
        times.add(ns)
    ordered = sorted(durations)
    true = ordered[max(1, round(q * len(ordered))) - 1]
    read = times.percentile_ns(q)
    assert true <= read <= max(true * 9 // 8, true + 1)
    assert times.decisions == len(durations) and times.slowest_ns == ordered[-1]


def test_merged_times_are_the_times_of_both() -> None:
    one, two, both = DecisionTimes(), DecisionTimes(), DecisionTimes()
    for ns in (1_000, 5_000, 90_000):
        one.add(ns)
        both.add(ns)
    for ns in (2_000_000, 7):
        two.add(ns)
        both.add(ns)
    one.merge(two)
    assert one == both
    assert one.sentence("x") == "x decided 5 times: p50 1.0 µs, p99 2.0 ms, slowest 2.0 ms."
    assert DecisionTimes().sentence("x") == "x was not asked to decide."
    assert [duration_text(n) for n in (1_500, 25_000, 3_500_000, 2_000_000_000)] == [
        "1.5 µs",
        "25 µs",
        "3.5 ms",
        "2.00 s",
    ]
