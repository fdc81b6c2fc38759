"""The service soak's memory line: each life judged from the end of its first simulated hour
(its warm point, at the run's speed) to its end, and a leak after that point still fails it."""

from __future__ import annotations

from rampart_testkit.soak_service.evidence import Evidence, Life
from rampart_testkit.soak_service.harness import WARMUP_S, memory_warm_s
from rampart_testkit.soak_service.judge import MEMORY_PCT_LIMIT, memory_growth

MB = 1 << 20


def test_the_warm_point_is_the_end_of_the_first_simulated_hour() -> None:
    assert memory_warm_s(120) == 30.0  # the compressed day
    assert memory_warm_s(1) == 3600.0  # the operator's day on the wall clock
    assert memory_warm_s(1000) == WARMUP_S  # never sooner than the start's own work


def test_a_steady_leak_after_the_warm_point_fails_and_a_flat_life_passes() -> None:
    samples = 150  # a 3-minute life at ×120 sampled once a second from its warm point
    leak = [int(200 * MB * (1 + 0.03 * i / samples)) for i in range(samples)]  # +3 % in a life
    flat = [200 * MB] * samples
    ev = Evidence(hours=24, lives=[Life(1, 0.0, "stop", flat)])
    assert memory_growth(ev).passed is True
    ev.lives.append(Life(2, 0.0, "stop", leak))
    line = memory_growth(ev)
    assert line.passed is False and "life 2" in line.value
    assert MEMORY_PCT_LIMIT == 2.0
